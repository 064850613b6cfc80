"""The leak test, part (b): headless Chromium walks the real site (``streamlit run app.py``) over a private suite
full of canaries (tests/canary_site.py): every page, every tab, every expander, every public export downloaded,
and every rendered text, the HTML, every download, every HTTP response body and every websocket frame the app sent
is searched for the canaries. Zero hits signed out, as the evaluated model's submitter and as another submitter;
an organizer sees them; made public, the same walk finds them (the details download included), so the search is
not blind. Part (a), every URL parameter under AppTest, is tests/leaderboard/test_private_leak.py.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlmodel import Session

from common.db import make_engine
from evaluator.benchmark.suites.visibility import PRIVATE, PUBLIC, set_visibility
from tests.canary_site import (CANARY, ORGANIZER, OTHER, OUTPUT_CANARY, PASSWORD, SUBMITTER, CanarySite,
                               seed_canary_site, write_suite)
from tests.browser_site import TIMEOUT_MS, chromium, requires_chromium, seeded_database, serve_app, settle, sign_in

TABS = ["Scores", "Robustness", "Errors & advice", "Questions", "Reproducibility"]
EXPORT_LABELS = ("Export CSV", "Export JSON", "Download details (JSONL)")

pytestmark = requires_chromium


@dataclass
class Server:
    base: str
    site: CanarySite
    url: str  # the database


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, canary_models: dict[str, Path]) -> Iterator[Server]:
    """The canary site in an SQLite file, served by ``streamlit run app.py``."""
    folder = tmp_path_factory.mktemp("private-crawl")
    env, site = seeded_database(folder, lambda engine: seed_canary_site(engine, write_suite(folder / "suite"),
                                                                         canary_models), MEDBENCH_DEVICE="cpu")
    try:
        with serve_app(env, folder) as base:
            yield Server(base, site, env["MEDBENCH_DATABASE_URL"])
    finally:
        assert CANARY not in (folder / "app.log").read_text(encoding="utf-8", errors="replace")  # nor in its log


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@dataclass
class Capture:
    """Everything the browser received: HTTP bodies, websocket frames, downloads, rendered text and HTML."""

    found: dict[str, list[str]] = field(default_factory=dict)  # where -> what held a canary
    downloads: list[str] = field(default_factory=list)

    def check(self, where: str, what: str, data: str | bytes) -> None:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
        if CANARY.encode() in raw:
            self.found.setdefault(where, []).append(what)


def click_download(page: Any, label: str, index: int, what: str, attempts: int = 3) -> Any:
    """Click the ``index``-th download button ``label`` and return the download. A click can land while the
    rerun of an earlier click is settling and come to nothing, so it is retried on a reloaded page."""
    for attempt in range(attempts):
        settle(page, 500)
        button = page.get_by_role("button", name=label).nth(index)
        button.scroll_into_view_if_needed()
        try:
            with page.expect_download(timeout=20_000) as info:
                button.click()
            return info.value
        except Exception:
            if attempt == attempts - 1:
                raise AssertionError(f"{what} did not download") from None
            page.reload()
    return None


def paths(site: CanarySite) -> list[str]:
    """Every page, with the models, tasks and tabs of the canary suite in its URL."""
    ids = [str(m) for m in site.models.values()]
    q = lambda **p: "?" + urllib.parse.urlencode(p, doseq=True)  # noqa: E731
    found = ["/", "/" + q(view="Reasoning", ci="true"), "/submit", "/queue", "/methodology", "/account",
             "/model", "/moderation", "/runs", "/suites", "/tag-review", "/audit",
             "/compare" + q(models=ids), "/compare" + q(models=ids, dtask="DDx-basic")]
    found += ["/model" + q(model=ref, tab="Questions") for ref in [*ids, *site.hub_ids.values()]]  # all tabs clicked
    found += ["/model" + q(model=ids[0], tab="Questions", qt=task, qo=outcome)
              for task, outcome in (("Med-Exam", "all"), ("MedDG", "wrong"), ("MedHG", "all"), ("CHIP-CTC", "all"))]
    return found


def download_all(page: Any, path: str, capture: Capture, tmp: Path) -> None:
    """Download every export button shown now (each once per page) and search the file."""
    for label in EXPORT_LABELS:
        for index in range(page.get_by_role("button", name=label).count()):
            what = f"{path} {label} {index}"
            if what in capture.downloads:
                continue
            download = click_download(page, label, index, what)
            target = tmp / f"{len(capture.downloads)}-{download.suggested_filename}"
            download.save_as(target)
            capture.downloads.append(what)
            capture.check(path, f"download {label}", target.read_bytes())


def walk(browser: Any, server: Server, username: str | None, tmp: Path,
         only: list[str] | None = None) -> Capture:
    """Open every page, click every tab and expander, download every export, as ``username`` (None: signed out)."""
    capture = Capture()
    tmp.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    where = {"path": "sign-in"}

    def on_response(response: Any) -> None:
        try:
            capture.check(where["path"], f"response {response.url}", response.body())
        except Exception:  # redirects and aborted requests have no body
            pass

    def on_websocket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: capture.check(where["path"], "websocket frame", payload))

    page.on("response", on_response)
    page.on("websocket", on_websocket)
    if username:
        sign_in(page, server.base, username, PASSWORD)
    for path in only or paths(server.site):
        where["path"] = path
        page.goto(server.base + path)
        settle(page, 500)
        if page.get_by_role("dialog").count():  # "Page not found": an organizer page, for anyone else
            capture.check(path, "dialog", page.get_by_role("dialog").first.inner_text())
            page.keyboard.press("Escape")
            page.get_by_role("dialog").wait_for(state="detached")
        # open every expander (those in hidden tabs too: their panels are inert to clicks)
        page.eval_on_selector_all("[data-testid=stExpander] details", "els => els.forEach(d => d.open = true)")
        page.wait_for_timeout(300)
        download_all(page, path, capture, tmp)
        for name in dict.fromkeys(page.get_by_role("tab").all_inner_texts()):  # nested tabs show and hide
            tab = page.get_by_role("tab", name=name, exact=True).first
            if not tab.is_visible():
                continue
            tab.click()
            page.wait_for_timeout(300)
            settle(page, 500)  # a lazy tab's content arrives with the rerun its click starts
            capture.check(path, "rendered text", page.inner_text("body"))
            capture.check(path, "html", page.content())  # tabs are lazy: only the open one is in the page
            download_all(page, path, capture, tmp)  # a tab's buttons are reachable while it is open
        capture.check(path, "rendered text", page.inner_text("body"))
        capture.check(path, "html", page.content())
    context.close()
    return capture


@pytest.mark.parametrize("who", [None, SUBMITTER, OTHER])
def test_the_public_site_leaks_nothing_of_a_private_suite(server: Server, browser: Any, who: str | None,
                                                          tmp_path: Path) -> None:
    capture = walk(browser, server, who, tmp_path)
    assert capture.found == {}
    assert len([d for d in capture.downloads if "Export" in d]) >= 4  # the leaderboard's exports were searched too
    assert not [d for d in capture.downloads if "details" in d]  # no details file of a private suite


def test_organizers_and_a_public_suite_show_the_canaries(server: Server, browser: Any, tmp_path: Path) -> None:
    """The search is not blind: an organizer meets the canaries, and so does a visitor once the suite is public,
    in the rendered questions, the websocket frames and the details download (prompts and raw outputs too)."""
    model = f"/model?model={server.site.models['canary']}&tab=Questions"
    compare = "/compare?" + urllib.parse.urlencode({"models": [str(m) for m in server.site.models.values()]},
                                                   doseq=True)
    organizer = walk(browser, server, ORGANIZER, tmp_path / "organizer", [model, compare])
    assert {"rendered text", "html", "websocket frame"} <= set(organizer.found[model]), organizer.found
    engine = make_engine(server.url)
    try:
        with Session(engine) as session:
            set_visibility(session, server.site.suite_id, PUBLIC, actor=None)
            session.commit()
        public = walk(browser, server, None, tmp_path / "public", [model, compare])
        assert "download Download details (JSONL)" in public.found[model], public.found
        assert {"rendered text", "html", "websocket frame"} <= set(public.found[compare]), public.found
        details = next((tmp_path / "public").glob("*medbench-details-canary__model*"))
        assert OUTPUT_CANARY in details.read_text(encoding="utf-8")
    finally:
        with Session(engine) as session:
            set_visibility(session, server.site.suite_id, PRIVATE, actor=None)
            session.commit()
        engine.dispose()
