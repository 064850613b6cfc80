"""The real site in a real browser, for the Chromium tests (tests/e2e, tests/submissions/test_browser_escaping.py)
and bench/bench_browser.py: one way to start ``streamlit run app.py`` (and the worker) on a test database and one
way to launch Debian's Chromium, so a change in how either starts is made once.

    from tests.browser_site import chromium, requires_chromium, serve_app, settle

    pytestmark = requires_chromium

    def test_page(tmp_path):
        env = {"MEDBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'medbench.db'}", "MEDBENCH_DATA_DIR": str(tmp_path)}
        with serve_app(env, tmp_path) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(base + "/methodology")
            settle(page)

``env`` holds only what the test sets (database, data folder, ...): it is laid over the process environment.
Logs go to ``<logs>/app.log`` and ``<logs>/worker.log``. Nothing here seeds data: each test seeds its own.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

import pytest

from sqlalchemy.engine import Engine

from common.db import make_engine, reset_engines, upgrade
from common.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
Seeded = TypeVar("Seeded")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 60_000  # default timeout of a page's actions and waits: the 2-core test machine is slow

requires_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                                                           "(scripts/run-tests.sh installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seeded_database(folder: Path, seed: Callable[[Engine], Seeded], **extra_env: str) -> tuple[dict[str, str], Seeded]:
    """A migrated SQLite file in ``folder`` seeded by ``seed(engine)`` under the site's own settings; returns the
    site's ``env`` (database, data and model folders, no demo models, plus ``extra_env``) and what ``seed`` returned.
    Settings and engines are reset before and after, so the test process keeps none of them."""
    url = f"sqlite:///{folder / 'medbench.db'}"
    env = {"MEDBENCH_DATA_DIR": str(folder / "data"), "MEDBENCH_MODEL_CACHE_DIR": str(folder / "models"),
           "MEDBENCH_DATABASE_URL": url, "MEDBENCH_DEMO_MODELS": "false", **extra_env}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        reset_engines()
        engine = make_engine(url)
        try:
            upgrade(engine)
            seeded = seed(engine)
        finally:
            engine.dispose()
            get_settings.cache_clear()
            reset_engines()
    return env, seeded


def _environment(env: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **env}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve_app(env: Mapping[str, str], logs: Path, start_timeout_s: float = 60) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with ``env`` over the process environment; yields its base URL
    (``http://127.0.0.1:<port>``) once ``/_stcore/health`` answers, and stops it after. Output: ``logs/app.log``."""
    port = free_port()
    log = logs / "app.log"
    # no file watcher: a source file saved during the test must not make Streamlit re-import table modules
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                            "--server.port", str(port), "--browser.gatherUsageStats", "false",
                            "--server.fileWatcherType", "none"],
                           cwd=ROOT, env=_environment(env), stdout=open(log, "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or app.poll() is not None:
                raise RuntimeError(f"the app did not start:\n{log.read_text()[-5000:]}")
            time.sleep(0.3)
        yield base
    finally:
        _stop(app)


@contextmanager
def run_worker(env: Mapping[str, str], logs: Path) -> Iterator[subprocess.Popen]:
    """``python -m evaluator.ops.worker`` on ``env`` (output: ``logs/worker.log``), stopped after."""
    worker = subprocess.Popen([sys.executable, "-m", "evaluator.ops.worker"], cwd=ROOT, env=_environment(env),
                              stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        _stop(worker)


@contextmanager
def running_site(env: Mapping[str, str], logs: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app and the worker on one database: yields (the site's base URL, the worker process)."""
    with run_worker(env, logs) as worker, serve_app(env, logs) as base:
        yield base, worker


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by playwright; yields the ``Browser`` (each test opens its own pages or
    contexts) and closes it after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(page: Any, pause_ms: int = 700) -> None:
    """Wait until the page's script run is over (Streamlit's script state "notRunning", no element skeleton
    left), then ``pause_ms`` more for charts, images and late requests."""
    page.wait_for_function("() => document.querySelector('[data-test-script-state]')"
                           "?.getAttribute('data-test-script-state') === 'notRunning' && "
                           "!document.querySelector('[data-testid=stSkeleton]')", timeout=TIMEOUT_MS)
    page.wait_for_timeout(pause_ms)


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """Sign in on the Account page opened by URL (a new Streamlit session; the sign-in cookie keeps it after)."""
    page.goto(base + "/account")
    settle(page, 300)
    form = page.get_by_test_id("stForm").first
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}").wait_for(timeout=TIMEOUT_MS)


# Elements that scroll sideways by design: what sticks out of the viewport inside them is reachable by their own
# scroll bar (Streamlit's data grids, code blocks) or drawn to fit (Plotly). Any other element whose box ends
# beyond the viewport's right edge is content a phone reader cannot see.
_OVERFLOW_JS = """
() => {
  const limit = window.innerWidth + 1;
  const byDesign = '[data-testid=stDataFrame], [data-testid=stCode], pre, .js-plotly-plot';
  const main = document.querySelector('[data-testid=stMain]');  // the page's own scroller: it must not scroll sideways
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== main && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (['auto', 'scroll'].includes(style.overflowX) && a.getBoundingClientRect().right <= limit) return true;
    }
    return false;
  };
  const found = [];
  if (document.documentElement.scrollWidth > limit)
    found.push(`document scrollWidth ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  if (main && main.scrollWidth > main.clientWidth + 1)
    found.push(`main area scrollWidth ${main.scrollWidth} > ${main.clientWidth}`);
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right <= limit) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (el.closest(byDesign) || scrolls(el)) continue;
    found.push(`${el.tagName.toLowerCase()}[data-testid=${el.getAttribute('data-testid')}] ` +
               `right=${Math.round(box.right)} "${(el.textContent || '').trim().slice(0, 60)}"`);
  }
  return found;
}
"""


def horizontal_overflow(page: Any) -> list[str]:
    """What sticks out of the viewport's right edge on the page as drawn now (empty: nothing): the document or
    Streamlit's main area wider than the window, or a visible element beyond it outside the elements that scroll
    sideways by design (data grids, code blocks, Plotly charts, and any container inside the page with its own
    horizontal scroll bar, such as a tab bar)."""
    return page.evaluate(_OVERFLOW_JS)


def screenshot(page: Any, path: Path, max_height: int = 8000) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main container, so playwright's
    ``full_page`` shows only the viewport; the viewport is stretched to the content's height (at most
    ``max_height``) for the shot and restored after."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, max_height))})
    page.wait_for_timeout(500)  # charts redraw for the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
