"""The whole product in a real headless Chromium: a user signs up (a reload keeps them signed in, after sign-out it
does not) and submits a tiny model served by the hub stand-in, an organizer approves it, the worker process
evaluates it, it appears ranked, one click on its name opens its page (in the same tab), a shared URL's filters
show as restored, its model page and question browser open, and a CSV export downloads. Screenshots of each page
go to test-output/e2e/ (gitignored), among them the leaderboard, a model page and compare at 1440 px and 390 px,
each checked by script for content sticking out sideways (tests/browser_site.py's ``horizontal_overflow``).

Real parts only: ``streamlit run app.py`` and ``python -m evaluator.ops.worker`` as subprocesses on one SQLite file,
the real huggingface_hub client against tests/hub_stub.py, Debian's chromium driven by playwright.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest
from sqlmodel import Session, select

from common.db import make_engine, upgrade
from evaluator.benchmark.suites.importer import import_suite
from bench.seed_results import ModelProfile, add_model, new_run, seed_run_results
from common.timeutil import utcnow
from evaluator.tables import EvalRun, Suite, SuiteItem
from submissions.accounts import create_user
from tests.browser_site import (ROOT, TIMEOUT_MS, chromium, horizontal_overflow, requires_chromium, running_site,
                                 screenshot, settle)
from tests.hub_stub import serve_hub

OUT = ROOT / "test-output" / "e2e"  # gitignored: the screenshots of a run are looked at, not committed
REPO = "e2e-org/tiny-medical"
SECOND = "e2e-org/second-opinion-medical-chat-13b-instruct"  # seeded for the compare page
NAME_CELL_X = 130  # px from the ranking grid's left edge to a point inside the first row's Model cell
LAYOUT_WIDTHS = (1440, 390)  # desktop and phone
SUITE_TASKS = {"Med-Exam": 2, "MedSafety": 2, "DrugCA": 2, "DDx-basic": 1, "MedHG": 1, "CHIP-CTC": 1}

pytestmark = requires_chromium

ORGA_PASSWORD = "violet harbor 28"


def remote_code_files(folder: Path) -> dict[str, bytes]:
    """Make the tiny model a remote-code model (config ``auto_map`` + its module): such submissions are held for
    an organizer, who approves them, which is the path this test walks. The class is the plain Llama."""
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_tiny.TinyLlamaForCausalLM"}
    module = "from transformers import LlamaForCausalLM\n\n\nclass TinyLlamaForCausalLM(LlamaForCausalLM):\n    pass\n"
    return {"config.json": json.dumps(config).encode(), "modeling_tiny.py": module.encode()}


def small_suite(folder: Path) -> Path:
    """The first items of a few short-answer tasks of the bundled demo suite (keeps the worker's run short)."""
    folder.mkdir(parents=True)
    for task, count in SUITE_TASKS.items():
        lines = (ROOT / "evaluator" / "benchmark" / "suites" / "demo" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
        (folder / f"{task}.jsonl").write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         tiny_models) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """Hub stand-in with the tiny model, a migrated database with an active suite, the app and the worker."""
    hub_iter = serve_hub(monkeypatch)
    hub = next(hub_iter)
    hub.add_repo(REPO, tiny_models["letter_a"], extra_files=remote_code_files(tiny_models["letter_a"]))
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'medbench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        import_suite(session, small_suite(tmp_path / "suite"), "e2e", activate=True, visibility="public")
        session.commit()
    create_user("orga", ORGA_PASSWORD, organizer=True, engine=engine)  # the operator's `users create-user --organizer`
    env = {"MEDBENCH_DATA_DIR": str(data), "MEDBENCH_MODEL_CACHE_DIR": str(tmp_path / "models"),
           "MEDBENCH_DATABASE_URL": url, "MEDBENCH_DEMO_MODELS": "false",
           "MEDBENCH_WORKER_POLL_SECONDS": "1", "MEDBENCH_DEVICE": "cpu", "MEDBENCH_MIN_FREE_DISK_GB": "0",
           "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1"}
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        with running_site(env, logs) as (base, worker):
            yield {"base": base, "engine": engine, "logs": logs, "worker": worker}
    finally:
        engine.dispose()
        next(hub_iter, None)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    settle(page, 800)
    screenshot(page, OUT / f"{name}.png")


def go(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """In-app navigation through the sidebar (keeps the Streamlit session, so the sign-in survives)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(re.escape(label))).click()


def sign_in(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    go(page, "Account")
    page.get_by_role("heading", name="Account · 账户").wait_for()
    form = page.get_by_test_id("stForm").filter(has_text="Sign in")
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=TIMEOUT_MS)


def sign_up(page, username: str) -> None:  # type: ignore[no-untyped-def]
    go(page, "Account")
    page.get_by_role("heading", name="Account · 账户").wait_for()
    page.get_by_role("tab", name="Create account").click()
    form = page.get_by_test_id("stForm").filter(has_text="Repeat password")
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password (at least 8 characters)").fill("correct horse battery")
    form.get_by_label("Repeat password").fill("correct horse battery")
    form.get_by_role("button", name="Create account").click()
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=TIMEOUT_MS)


def wait_for_finished_run(site: dict, timeout_s: float = 300) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(site["engine"]) as session:
            run = session.exec(select(EvalRun).order_by(EvalRun.id.desc())).first()
            if run is not None and run.status == "finished":
                return run.id
            if run is not None and run.status in ("failed", "cancelled"):
                raise AssertionError(f"run {run.id} {run.status}: {run.error_public}\n{run.error_detail}")
        if site["worker"].poll() is not None:
            raise AssertionError(f"the worker exited:\n{(site['logs'] / 'worker.log').read_text()}")
        time.sleep(1)
    raise AssertionError(f"no finished run after {timeout_s} s:\n{(site['logs'] / 'worker.log').read_text()[-3000:]}")



def pick(page, widget, option: str, attempts: int = 4) -> None:  # type: ignore[no-untyped-def]
    """Open a Streamlit select widget and choose ``option``. On a busy machine the dropdown can miss the first
    click (the previous popover still closing), so a missed opening is retried; a missing option still fails."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        widget.click()
        try:
            page.get_by_role("option", name=option).click(timeout=15_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"option {option!r} never appeared in the dropdown")


def add_second_model(engine) -> int:  # type: ignore[no-untyped-def]
    """A second ranked model written straight into the database (bench.seed_results plays the evaluator: one
    worker run is enough for this test), so compare has two models; its long name must wrap at phone width."""
    profile = ModelProfile(SECOND, skill=0.6, params=13_000_000_000)
    with Session(engine) as session:
        suite = session.exec(select(Suite).where(Suite.active)).one()
        items = list(session.exec(select(SuiteItem).where(SuiteItem.suite_id == suite.id)))
        model = add_model(session, profile)
        seed_run_results(session, new_run(session, model, suite, finished_at=utcnow()), items, profile)
        session.commit()
        return model.id


def check_layout(page, base: str, pages: dict[str, tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """Each of ``pages`` (name -> (path, a text shown once its figures are there)) at every LAYOUT_WIDTHS: a
    screenshot ``layout-<name>-<width>.png`` in OUT, and nothing sticking out sideways (browser_site's check).
    The data version is re-read every few seconds, so the first page is reloaded until the new model shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    overflow: dict[str, list[str]] = {}
    for width in LAYOUT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, (path, ready) in pages.items():
            page.goto(base + path)
            for _ in range(8):
                try:
                    page.get_by_text(ready).first.wait_for(timeout=15_000)
                    break
                except PlaywrightTimeout:
                    page.reload()
            page.get_by_text(ready).first.wait_for()
            settle(page, 1000)
            if found := horizontal_overflow(page):
                overflow[f"{name} at {width} px"] = found
            screenshot(page, OUT / f"layout-{name}-{width}.png")
    assert not overflow, overflow


def test_submit_approve_evaluate_rank_browse_export(site):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                locale="en-US")  # the texts below are English (the language follows the browser)
        page.set_default_timeout(TIMEOUT_MS)
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        try:
            page.goto(site["base"])
            page.get_by_text("No results yet").wait_for()
            shot(page, "01-leaderboard-empty")

            # a user signs up and submits the tiny model served by the hub stand-in
            sign_up(page, "alice")
            shot(page, "02-account")
            page.reload()  # a new Streamlit session: the sign-in cookie keeps alice signed in
            page.get_by_text("Signed in as alice").wait_for()
            go(page, "Submit")
            page.get_by_role("textbox", name="Model id on the hub").fill(REPO)
            page.get_by_role("button", name="Submit").click()
            page.get_by_text("an organizer reviews it before it runs").wait_for(timeout=TIMEOUT_MS)
            shot(page, "03-submitted")
            go(page, "Account")
            page.get_by_text("Signed in as alice").wait_for()
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("tab", name="Create account").wait_for()
            page.reload()  # signed out stays signed out
            page.get_by_role("tab", name="Create account").wait_for()

            # an organizer (made by the operator's CLI) approves it
            sign_in(page, "orga", ORGA_PASSWORD)
            go(page, "Moderation")
            pick(page, page.get_by_test_id("stMultiSelect").filter(has_text="Submissions"), REPO)
            page.keyboard.press("Escape")
            pick(page, page.get_by_test_id("stSelectbox").filter(has_text="Action"),
                 "Allow remote code for this commit and approve")
            page.get_by_role("button", name="Apply").click()
            page.get_by_text("1 change applied").wait_for()
            shot(page, "04-moderation-approved")

            # the worker evaluates it; it appears ranked
            run_id = wait_for_finished_run(site)
            go(page, "Queue")
            shot(page, "05-queue")
            go(page, "Leaderboard")
            deadline = time.monotonic() + 120
            while True:  # the data version is re-read every few seconds, then the cached tables refresh
                try:
                    page.get_by_text("Showing 1 of 1 models").wait_for(timeout=15_000)
                    break
                except PlaywrightTimeout:
                    assert time.monotonic() < deadline, "the finished run did not appear on the leaderboard"
                    page.reload()
            shot(page, "06-leaderboard-ranked")

            # a CSV export of what is shown downloads (clicked once the page's run has ended: a click during a
            # rerun that redraws the button was lost on the loaded CI machine)
            settle(page)
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Export CSV").click()
            download = download_info.value
            target = OUT / download.suggested_filename
            download.save_as(target)
            rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
            assert [r["Model"] for r in rows] == [REPO] and rows[0]["#"] == "1"
            assert float(rows[0]["Overall"]) >= 0

            # one click on the model's name opens its page, in this tab; so does one on the row's selection box
            # (the grid is a canvas: the Model column begins after the selection box and the "#" column). The
            # ranking is loaded afresh: right after an export download, headless Chromium's first click on a
            # cell is lost (the selection box still answers), a second one opens the page.
            with Session(site["engine"]) as session:
                model_id = session.get(EvalRun, run_id).model_id
            for x_offset in (NAME_CELL_X, 16):
                page.goto(site["base"])
                page.get_by_text("Showing 1 of 1 models").wait_for()
                settle(page, 300)
                grid = page.get_by_test_id("stDataFrame").first.bounding_box()
                page.mouse.click(grid["x"] + x_offset, grid["y"] + 35 + 17)
                page.get_by_role("heading", name=REPO).wait_for()
                opened = urllib.parse.urlsplit(page.url)
                assert opened.path == "/model", (x_offset, page.url)
                assert urllib.parse.parse_qs(opened.query)["model"] == [str(model_id)], (x_offset, page.url)
                assert page.context.pages == [page]  # no new tab

            # a shared URL with filters restores them, and says so above the table
            page.goto(f"{site['base']}/?q=tiny&size=%3C1B&hide_flagged=true")
            page.get_by_text("Showing 1 of 1 models").wait_for()
            settle(page, 300)  # the first visit reruns once to write the language into the URL
            summary = page.get_by_text("Active filters:").inner_text().replace("\u2060", "")
            assert summary == "Active filters: search “tiny” · size <1B · flagged models hidden", summary
            assert page.get_by_role("textbox", name="Search", exact=True).input_value() == "tiny"
            page.get_by_text("Filters, columns and sorting").click()
            assert "<1B" in page.get_by_test_id("stMultiSelect").filter(has_text="Size").inner_text()
            shot(page, "06b-leaderboard-filters-restored")

            # the model page opens by URL too, with its question browser
            page.goto(f"{site['base']}/model?model={REPO}")
            page.get_by_role("heading", name=REPO).wait_for()
            page.get_by_text("Overall score").wait_for()
            shot(page, "07-model-scores")
            page.get_by_role("tab", name="Robustness").click()
            shot(page, "08-model-robustness")
            page.get_by_role("tab", name="Errors & advice").click()
            shot(page, "09-model-errors-advice")
            page.get_by_role("tab", name="Questions").click()
            questions = page.get_by_test_id("stExpander")
            questions.first.click()
            page.get_by_text("Reference answer").first.wait_for()
            assert page.get_by_text(re.compile(r"\d+ questions match")).is_visible()
            shot(page, "10-model-questions")
            page.get_by_role("tab", name="Reproducibility").click()
            page.get_by_text("cli.py eval run").wait_for()
            shot(page, "11-model-reproducibility")
            page.goto(f"{site['base']}/methodology")
            page.get_by_text("not for clinical decisions").first.wait_for()
            shot(page, "12-methodology")

            # the leaderboard, a model page and compare at desktop and phone width: screenshots (OUT) and no
            # horizontal overflow; a second model with a long name, so compare has two and names must wrap
            second = add_second_model(site["engine"])
            check_layout(page, site["base"], {
                "leaderboard": ("/", "Showing 2 of 2 models"),
                "model": (f"/model?model={second}", "Overall score"),
                "compare": (f"/compare?models={model_id}&models={second}", "Questions they disagree on"),
            })
            (OUT / "run.json").write_text(json.dumps({"run_id": run_id, "model": REPO}), encoding="utf-8")
            # nothing is fetched from elsewhere (fonts, favicons, CDNs): the site works offline and where
            # Google's hosts are blocked
            outside = sorted({u for u in fetched if not u.startswith((site["base"], "data:", "blob:"))})
            assert not outside, outside
        except Exception:
            page.screenshot(path=str(OUT / "failure.png"), full_page=True)
            raise
