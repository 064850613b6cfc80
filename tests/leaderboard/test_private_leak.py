"""The leak test, part (a): every page and every tab, rendered by Streamlit's AppTest with every URL parameter the
pages accept pointed at a private suite's models, runs, items and tasks, shows no canary to a signed-out visitor,
to the submitter of the evaluated model or to another submitter; organizers see them, and the same pages for the
suite made public show them to everyone (so the gate is not simply closed). Spec section 8; the Chromium crawl
(part b) is tests/e2e/test_private_crawl.py.

The suite (tests/canary_site.py) holds a canary in every question, option, candidate, reference, answer point,
source and item key, and the evaluated model's every output is a canary, so prompts and raw outputs count too.
Everything an AppTest holds after a run is searched: every element's and block's protobuf (Markdown, code, JSON,
dataframe bytes, chart specs, labels, help texts, options) and the URL it leaves.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from common.db import get_engine, reset_engines
from common.settings import get_settings
from evaluator.item_access import PrivateItems
from evaluator.benchmark.suites.visibility import PRIVATE, PUBLIC, set_visibility
from evaluator.benchmark.tasks import TASKS
from leaderboard import cache, table_view
from leaderboard.columns import optional_columns
from leaderboard.item_browser import OUTCOMES
from leaderboard.labels import CATEGORIES, dimension_label
from leaderboard.ranking import DIMENSIONS
from tests.canary_site import CANARY, ORGANIZER, OTHER, SUBMITTER, CanarySite, seed_canary_site, write_suite
from tests.canary_site import TASKS as SUITE_TASKS
from tests.leaderboard.conftest import ROOT

PUBLIC_PAGES = ["leaderboard/pages/leaderboard.py", "leaderboard/pages/model.py", "leaderboard/pages/compare.py",
                "leaderboard/pages/methodology.py", "submissions/pages/submit.py", "submissions/pages/queue.py",
                "submissions/pages/account.py"]
ORGANIZER_PAGES = ["submissions/pages/moderation.py", "evaluator/pages/runs.py", "evaluator/pages/suites.py",
                   "evaluator/pages/tag_review.py", "submissions/pages/audit.py"]
MODEL_TABS = ["Scores", "Robustness", "Errors & advice", "Questions", "Reproducibility"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, canary_models: dict[str, Path]) -> Iterator[CanarySite]:
    """The canary site in a fresh SQLite database that the pages (get_engine, session_scope) read."""
    folder = tmp_path_factory.mktemp("private-leak")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDBENCH_DATA_DIR", str(folder / "data"))
        patch.setenv("MEDBENCH_MODEL_CACHE_DIR", str(folder / "models"))
        patch.setenv("MEDBENCH_DEVICE", "cpu")
        patch.setenv("MEDBENCH_ORGANIZERS", "")
        patch.delenv("MEDBENCH_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        reset_engines()
        yield seed_canary_site(get_engine(), write_suite(folder / "suite"), canary_models)
        get_settings.cache_clear()
        reset_engines()


def walks(site: CanarySite) -> list[tuple[str, dict[str, Any]]]:
    """(page, URL parameters): every page, and for each parameter a page reads, values that point at the
    suite's models (ids and hub ids), tasks, dimensions, outcomes, tags, pages and tabs; run and item ids too."""
    runs = [str(r) for r in site.runs.values()]
    items = [str(i) for i in range(1, 40)]
    junk = {"run": runs, "run_id": runs, "item": items, "suite": str(site.suite_id)}
    models = [str(m) for m in site.models.values()] + list(site.hub_ids.values())
    dims = [dimension_label(d, short=True) for d in DIMENSIONS]
    found: list[tuple[str, dict[str, Any]]] = [(page, dict(junk)) for page in PUBLIC_PAGES + ORGANIZER_PAGES]
    board = "leaderboard/pages/leaderboard.py"
    found += [(board, {"view": view, "q": "model", "ci": "true", "asc": "true", "hide_flagged": "true",
                       "cols": list(optional_columns()), "size": "<1B", "type": "chat",
                       "precision": "float32"}) for view in ["Overview", *dims]]
    model = "leaderboard/pages/model.py"
    for ref in models:
        found += [(model, {"model": ref, "tab": tab, **junk}) for tab in MODEL_TABS]
    canary = str(site.models["canary"])
    found += [(model, {"model": canary, "tab": "Questions", "qt": task, "qd": dimension_label(
        TASKS[task].dimension.value, short=True)}) for task in SUITE_TASKS]
    found += [(model, {"model": canary, "tab": "Questions", "qo": outcome, "qp": "2"}) for outcome in OUTCOMES]
    found += [(model, {"model": canary, "tab": "Questions", "qtag": tag}) for tag in CATEGORIES]
    pair = [str(site.models["canary"]), str(site.models["letter"])]
    compare = "leaderboard/pages/compare.py"
    found += [(compare, {"models": pair, "dtask": task, "dpage": "1"}) for task in ["all", *SUITE_TASKS, "MedSafety"]]
    found += [(compare, {"models": list(site.hub_ids.values()), **junk})]
    return found


def rendered(app: AppTest) -> str:
    """Everything the run left for the browser: every node's protobuf and the URL parameters."""
    parts: list[str] = [repr(app.query_params.to_dict()) if hasattr(app.query_params, "to_dict")
                        else repr(dict(app.query_params))]

    def visit(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(app._tree)
    return "\n".join(parts)


def render(page: str, query: dict[str, Any], user_id: int | None) -> AppTest:
    """One run of ``page`` as ``user_id`` (None: signed out), in English (labels are asserted). The data cache
    is kept between runs, as on the site (the autouse fixture clears it between tests)."""
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    app.query_params["lang"] = "en"
    if user_id is not None:
        app.session_state["user_id"] = user_id
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def hits(site: CanarySite, user_id: int | None, pages: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Canary occurrences per page walk ("page?params" -> count); pages must run without an exception."""
    found = {}
    for page, query in pages:
        app = render(page, query, user_id)
        assert not app.exception, (page, query, app.exception)
        count = rendered(app).count(CANARY)
        if count:
            found[f"{page}?{query}"] = count
    return found


@pytest.mark.parametrize("who", ["visitor", SUBMITTER, OTHER])
def test_private_suite_shows_no_item_to_the_public(site: CanarySite, who: str) -> None:
    user_id = None if who == "visitor" else site.users[who]
    assert hits(site, user_id, walks(site)) == {}
    questions = render("leaderboard/pages/model.py", {"model": str(site.models["canary"]), "tab": "Questions"},
                       user_id)
    assert any("is a private test set" in i.value for i in questions.info)  # the one line, in its place
    assert not any("Download details" in b.label for b in questions.get("download_button"))
    board = render("leaderboard/pages/leaderboard.py", {}, user_id)
    assert any("private test set · 非公开测试集" in m.value for m in board.markdown)
    compare = render("leaderboard/pages/compare.py", {"models": [str(m) for m in site.models.values()]}, user_id)
    assert any("is a private test set" in i.value for i in compare.info)
    # the public exports: the leaderboard's CSV / JSON, and the details file the gate refuses
    for run_id in site.runs.values():
        with pytest.raises(PrivateItems):
            cache.details_jsonl(run_id, organizer=False)
    frame = cache.leaderboard_frame(cache.version())
    for view in ["overview", *DIMENSIONS]:
        shown = frame if view == "overview" else table_view.with_tasks(frame, cache.task_frame(cache.version(), view))
        table = table_view.view_table(shown, view, list(optional_columns()), "numeric")
        assert CANARY.encode() not in table_view.to_csv(table) + table_view.to_json(table)


def test_organizers_see_the_items(site: CanarySite) -> None:
    organizer = site.users[ORGANIZER]
    model = "leaderboard/pages/model.py"
    found = hits(site, organizer, [(model, {"model": str(site.models["canary"]), "tab": "Questions"}),
                                   (model, {"model": str(site.models["canary"]), "qt": "MedDG"}),
                                   ("leaderboard/pages/compare.py", {"models": [str(m) for m in site.models.values()]}),
                                   ("evaluator/pages/tag_review.py", {})])
    assert len(found) == 4, found
    assert b"KanarieOUT" in cache.details_jsonl(site.runs["canary"], organizer=True)  # the raw outputs too


def test_public_suite_shows_everything(site: CanarySite) -> None:
    """The same walk with the suite made public: the questions, prompts, outputs and the details download are
    there for a visitor, so the private walk's zero is the gate's doing, not an empty page."""
    with Session(get_engine()) as session:
        set_visibility(session, site.suite_id, PUBLIC, actor=None)
        session.commit()
    try:
        found = hits(site, None, walks(site))
        model = "leaderboard/pages/model.py"
        assert any(key.startswith(f"{model}?{{'model': '{site.models['canary']}', 'tab': 'Questions'")
                   for key in found), found
        assert any(key.startswith("leaderboard/pages/compare.py?{'models'") for key in found), found
        details = cache.details_jsonl(site.runs["canary"])
        assert b"KanarieOUT" in details and details.count(b"\n") > 12  # prompt, output, reference of every order
        questions = render(model, {"model": str(site.models["canary"]), "tab": "Questions"}, None)
        assert any("Download details" in b.label for b in questions.get("download_button"))
        board = render("leaderboard/pages/leaderboard.py", {}, None)
        assert any("public test set · 公开测试集" in m.value for m in board.markdown)
    finally:
        with Session(get_engine()) as session:
            set_visibility(session, site.suite_id, PRIVATE, actor=None)
            session.commit()
    # made private again, nothing cached while public is served
    assert hits(site, None, [("leaderboard/pages/model.py", {"model": str(site.models["canary"])})]) == {}
