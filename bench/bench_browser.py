"""What a reader waits for: each public page timed in a real headless Chromium, from navigation to its figures.

    .venv/bin/python bench/bench_browser.py                 # the demo size (bench.seed_results.seed_demo_results)
    .venv/bin/python bench/bench_browser.py --models 1000   # the 1,000-model database of bench/bench_render.py

Starts ``streamlit run app.py`` on a seeded SQLite database, then opens every public page in Chromium (Debian's
/usr/bin/chromium through playwright): *cold* = a new browser context (new Streamlit session, empty browser cache)
on a server whose data cache was just cleared by a restart for the first round, *warm* = the same page reloaded.
A MutationObserver installed before the page loads records, relative to navigation start
(``performance.now()``), when each milestone first appears: the title, the first metric, table and chart, and the
end of the script run. Server-side render time (bench_render.py) is not what a reader waits for; this is.
*switch* = after the warm visit, a tab or view change (:data:`SWITCHES`): seconds from the click to the end of
the rerun it starts (its figures are drawn as they arrive, so the end is when the reader has them).
Prints figures only (median of --repeat rounds) against the targets: figures within 1.5 s, a switch within 1 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_site import chromium, serve_app  # noqa: E402  (the tests' way to start the site and Chromium)

TARGET_S = 1.5
SWITCH_TARGET_S = 1.0
# Milestones: name -> CSS selector whose first visible match is recorded.
MARKS = {
    "title": "h1",
    "metric": "[data-testid=stMetric]",
    "table": "[data-testid=stDataFrame], [data-testid=stTable]",
    "chart": ".js-plotly-plot .main-svg",
}
OBSERVER = """
(() => {
  window.__marks = {};
  const marks = %s;
  const check = () => {
    for (const [name, selector] of Object.entries(marks)) {
      if (window.__marks[name] === undefined) {
        const el = document.querySelector(selector);
        if (el && el.getBoundingClientRect().height > 0) window.__marks[name] = performance.now();
      }
    }
    const state = document.querySelector('[data-test-script-state]');
    if (state && state.getAttribute('data-test-script-state') === 'notRunning' && window.__marks.title !== undefined
        && window.__marks.done === undefined) window.__marks.done = performance.now();
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
  setInterval(check, 20);
})();
""" % repr(MARKS).replace("'", '"')


def seed(url: str, models: int) -> dict[str, str]:
    """Seed the database; returns the page paths to time (model and compare pages name real models)."""
    from sqlmodel import Session

    from common.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    if models <= 10:
        from bench.seed_results import seed_demo_results

        with Session(engine) as session:
            world = seed_demo_results(session)
            session.commit()
            ids = [m.id for key, m in world.models.items() if key in {k for k in world.runs}][:2]
    else:
        from bench.bench_render import build

        build(url, models, items_per_task=10)
        ids = [1, 2]
    engine.dispose()
    return {"Leaderboard": "/", "Model": f"/model?model={ids[0]}",
            "Compare": f"/compare?models={ids[0]}&models={ids[1]}", "Methodology": "/methodology",
            "Queue": "/queue", "About": "/about"}


def measure(page: Any, url: str, reload: bool = False) -> dict[str, float]:
    """Seconds from navigation start to each milestone (absent when the page has no such element)."""
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    page.wait_for_function("() => window.__marks && window.__marks.done !== undefined", timeout=120_000)
    page.wait_for_timeout(1500)  # late charts
    return {name: value / 1000 for name, value in page.evaluate("window.__marks").items()}


# Records, from the moment it is installed, when the rerun a click starts is over (the app root's script state
# goes running -> notRunning); installed right before the click that switches.
SWITCH_OBSERVER = """
() => {
  const root = document.querySelector('[data-test-script-state]');
  const mark = window.__switch = {start: performance.now()};
  new MutationObserver(() => {
    const state = root.getAttribute('data-test-script-state');
    if (state === 'running' && mark.ran === undefined) mark.ran = performance.now();
    if (state === 'notRunning' && mark.ran !== undefined && mark.done === undefined) mark.done = performance.now();
  }).observe(root, {attributes: true});
}
"""


def switch_view(page: Any) -> None:
    """Leaderboard: the View selector from Overview to Reasoning (a dimension view with its task columns)."""
    page.get_by_test_id("stSelectbox").filter(has_text="View").click()
    option = page.get_by_role("option", name="Reasoning")
    option.wait_for()
    page.evaluate(SWITCH_OBSERVER)
    option.click()


def switch_tab(page: Any) -> None:
    """Model page: from the Scores tab to Robustness (tabs run lazily, so the switch reruns the page)."""
    tab = page.get_by_role("tab", name="Robustness")
    page.evaluate(SWITCH_OBSERVER)
    tab.click()


SWITCHES = {"Leaderboard": switch_view, "Model": switch_tab}


def measure_switch(page: Any, switch: Any) -> dict[str, float]:
    """Seconds from the switching click to the end of the rerun it started."""
    switch(page)
    page.wait_for_function("() => window.__switch.done !== undefined", timeout=120_000)
    return {"done": page.evaluate("(window.__switch.done - window.__switch.start) / 1000")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=8, help="8: the demo database; more: bulk-seeded")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db-dir", type=Path, default=None, help="keep the database here (reused when present)")
    parser.add_argument("--pages", default="", help="comma-separated page names to time (default: all)")
    args = parser.parse_args()
    folder = args.db_dir or Path(tempfile.mkdtemp(prefix="medbench-browser-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / f'browser-{args.models}.db'}"
    print(f"seeding {args.models} models at {url} ...")
    pages = seed(url, args.models)
    if args.pages:
        pages = {name: path for name, path in pages.items() if name in args.pages.split(",")}
    env = {"MEDBENCH_DATABASE_URL": url, "MEDBENCH_DATA_DIR": str(folder), "MEDBENCH_DEMO_MODELS": "false"}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with serve_app(env, folder, start_timeout_s=90) as base, chromium() as browser:
        for _ in range(args.repeat):
            for name, path in pages.items():
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.add_init_script(OBSERVER)
                page = context.new_page()
                results.setdefault((name, "cold"), []).append(measure(page, base + path))
                results.setdefault((name, "warm"), []).append(measure(page, base + path, reload=True))
                if name in SWITCHES:
                    results.setdefault((name, "switch"), []).append(measure_switch(page, SWITCHES[name]))
                context.close()
    print(f"\nmedian of {args.repeat} rounds, seconds from navigation (target: figures within {TARGET_S} s; "
          f"switch: from the click, target {SWITCH_TARGET_S} s)")
    print(f"{'page':<12} {'visit':<6} " + " ".join(f"{m:>7}" for m in [*MARKS, "done"]))
    for (name, visit), rounds in results.items():
        cells = []
        for mark in [*MARKS, "done"]:
            values = [r[mark] for r in rounds if mark in r]
            cells.append(f"{statistics.median(values):7.2f}" if values else f"{'–':>7}")
        print(f"{name:<12} {visit:<6} " + " ".join(cells))


if __name__ == "__main__":
    main()
