"""A served (API) model ranked beside a hub model, in a real headless Chromium (issue 19's must-show).

An organizer adds a model served behind an OpenAI-compatible endpoint with the operator's CLI (``cli.py users
add-served-model``, the key read from ``MEDBENCH_API_KEY_STUB``), a user submits a tiny model from the hub stand-in,
the worker process evaluates both, and the leaderboard shows them ranked together with the served row's source
marked "API: not pinned to a revision" (in its Flags, and as "api" in the Source column, which also filters by
``source:api``). The key is searched for in every page's HTML and in everything the site sent over its websocket.

Real parts only: the ``openai`` client against tests/openai_stub.py, the huggingface_hub client against
tests/hub_stub.py, ``streamlit run app.py`` and the worker as subprocesses, Debian's chromium via playwright.
"""
from __future__ import annotations

import csv
import io
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import Session, select

from common.db import make_engine, upgrade
from common.settings import get_settings
from evaluator.benchmark.suites.importer import import_suite
from evaluator.tables import EvalRun
from submissions.accounts import create_user
from submissions.intake import submit_model
from tests.browser_site import ROOT, TIMEOUT_MS, chromium, requires_chromium, running_site, settle
from tests.e2e.test_full_flow import OUT
from tests.hub_stub import serve_hub
from tests.openai_stub import OpenAIStub

pytestmark = requires_chromium

HUB_REPO = "e2e-org/tiny-open"
SERVED = "vendor/served-chat"
STUB_MODEL = "stub-medical-chat"
NOT_PINNED = "API: not pinned to a revision"
SUITE_TASKS = {"Med-Exam": 2, "MedSafety": 1, "DrugCA": 1, "DDx-basic": 1, "MedHG": 1}


def short_suite(folder: Path) -> Path:
    """The first items of one task per dimension of the bundled demo suite (two models' runs stay short)."""
    folder.mkdir(parents=True)
    for task, count in SUITE_TASKS.items():
        lines = (ROOT / "evaluator" / "benchmark" / "suites" / "demo" / f"{task}.jsonl").read_text(
            encoding="utf-8").splitlines()
        (folder / f"{task}.jsonl").write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return folder


def wait_for_finished_runs(engine, worker: subprocess.Popen, logs: Path, count: int,  # type: ignore[no-untyped-def]
                           timeout_s: float = 150) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(engine) as session:
            runs = session.exec(select(EvalRun)).all()
        bad = [r for r in runs if r.status in ("failed", "cancelled")]
        assert not bad, [(r.id, r.status, r.error_public) for r in bad]
        if sum(r.status == "finished" for r in runs) == count:
            return
        assert worker.poll() is None, (logs / "worker.log").read_text()
        time.sleep(1)
    raise AssertionError(f"not {count} finished runs after {timeout_s} s:\n{(logs / 'worker.log').read_text()[-3000:]}")


def test_a_served_model_is_ranked_beside_a_hub_model_with_its_source_marked(tmp_path, monkeypatch,
                                                                            tiny_models) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    key = "sk-e2e-" + secrets.token_hex(16)
    hub_iter = serve_hub(monkeypatch)
    hub = next(hub_iter)
    hub.add_repo(HUB_REPO, tiny_models["letter_a"])
    stub = OpenAIStub.start(tiny_models["random"], STUB_MODEL, key)
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'medbench.db'}"
    env = {"MEDBENCH_DATA_DIR": str(data), "MEDBENCH_MODEL_CACHE_DIR": str(tmp_path / "models"),
           "MEDBENCH_DATABASE_URL": url, "MEDBENCH_DEMO_MODELS": "false", "MEDBENCH_API_KEY_STUB": key,
           "MEDBENCH_WORKER_POLL_SECONDS": "1", "MEDBENCH_DEVICE": "cpu", "MEDBENCH_MIN_FREE_DISK_GB": "0",
           "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1"}
    for name in ("MEDBENCH_DATA_DIR", "MEDBENCH_DATABASE_URL", "MEDBENCH_MODEL_CACHE_DIR"):
        monkeypatch.setenv(name, env[name])
    get_settings.cache_clear()
    engine = make_engine(url)
    logs = tmp_path / "logs"
    logs.mkdir()
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(engine)
        with Session(engine) as session:
            import_suite(session, short_suite(tmp_path / "suite"), "e2e-served", activate=True)
            session.commit()
        # the organizers add the served model with the operator's CLI; the key comes from the environment only
        added = subprocess.run([sys.executable, "cli.py", "users", "add-served-model", "--endpoint", stub.url,
                                "--model-name", STUB_MODEL, "--key-name", "STUB", "--label", SERVED,
                                "--price-output", "8"], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                               text=True, timeout=120)
        assert added.returncode == 0 and "approved" in added.stdout, added.stdout + added.stderr
        assert key not in added.stdout + added.stderr
        # a user submits an open model from the hub
        user = create_user("alice", "correct horse battery", engine=engine)
        submitted = submit_model(user.id, engine=engine, hub_id=HUB_REPO, revision="main", precision="bfloat16",
                                 model_type="chat", use_chat_template=True, contact="dr.li@example.org")
        assert submitted.status == "accepted", submitted.message

        with running_site(env, logs) as (base, worker):
            wait_for_finished_runs(engine, worker, logs, 2)
            received: list[str] = []
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
                page.set_default_timeout(TIMEOUT_MS)
                page.on("websocket", lambda ws: ws.on(
                    "framereceived", lambda payload: received.append(
                        payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)))
                try:
                    deadline = time.monotonic() + 90
                    page.goto(f"{base}/?cols=Source&cols=Flags")
                    while True:  # the data version is re-read every few seconds, then the cached tables refresh
                        try:
                            page.get_by_text("Showing 2 of 2 models").wait_for(timeout=15_000)
                            break
                        except PlaywrightTimeout:
                            assert time.monotonic() < deadline, "the two finished runs did not appear ranked"
                            page.reload()
                    settle(page)
                    page.screenshot(path=str(OUT / "served-beside-hub.png"), full_page=True)
                    html = page.content()

                    # what is shown, as the CSV export of the table gives it: both ranked, the served one marked
                    with page.expect_download() as download_info:
                        page.get_by_role("button", name="Export CSV").click()
                    target = tmp_path / download_info.value.suggested_filename
                    download_info.value.save_as(target)
                    rows = {r["Model"]: r for r in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig")))}
                    assert set(rows) == {SERVED, HUB_REPO}
                    assert all(r["#"].isdigit() for r in rows.values())  # both ranked (a tie shares a rank)
                    assert (rows[SERVED]["Source"], rows[HUB_REPO]["Source"]) == ("api", "hf")
                    assert NOT_PINNED in rows[SERVED]["Flags"] and NOT_PINNED not in rows[HUB_REPO]["Flags"]

                    # the source key filters: only the served row
                    page.goto(f"{base}/?q=source%3Aapi&cols=Source&cols=Flags")
                    page.get_by_text("Showing 1 of 2 models").wait_for()
                    settle(page)
                    html += page.content()

                    # the served model's page says it is not pinned; its reproducibility card says why
                    page.goto(f"{base}/model?model={SERVED}&tab=Reproducibility")
                    page.get_by_role("heading", name=SERVED).wait_for()
                    page.get_by_text(NOT_PINNED).first.wait_for()
                    page.get_by_text("add-served-model").first.wait_for()
                    settle(page)
                    page.screenshot(path=str(OUT / "served-model-page.png"), full_page=True)
                    html += page.content()
                except Exception:
                    page.screenshot(path=str(OUT / "served-failure.png"), full_page=True)
                    raise
            sent = "\n".join(received)
            assert SERVED in sent and HUB_REPO in sent and NOT_PINNED in sent  # the frames searched are the real ones
            assert key not in html and key not in sent
            assert stub.url not in html and stub.url not in sent  # the organizers' endpoint stays off public pages
            assert stub.auth_headers and set(stub.auth_headers) == {f"Bearer {key}"}  # the key was really used
            for log in logs.iterdir():
                assert key not in log.read_text(encoding="utf-8", errors="replace"), log.name
    finally:
        stub.stop()
        engine.dispose()
        next(hub_iter, None)
        get_settings.cache_clear()
