"""How fast the public pages render on a big database: 1,000 models and 2 million item rows.

    .venv/bin/python bench/bench_render.py                       # SQLite and PostgreSQL, 1,000 models
    .venv/bin/python bench/bench_render.py --backend sqlite --models 200

Builds the database once with bulk inserts (bench.seed_results.bulk_seed; the SQLite file is kept under
--db-dir and reused, PostgreSQL runs on a throw-away server from tests/pg_server.py or MEDBENCH_TEST_PG_URL),
then times the read API calls and the server-side render of the leaderboard and model pages (Streamlit's AppTest:
the whole script run, cold = empty st.cache_data, warm = cached). Target: under 1 s for both pages, cold.
Prints figures only; it asserts nothing, so it never makes the test-suite slow or flaky.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 1.0


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(url: str, models: int, items_per_task: int) -> dict[str, int]:
    """Create (or reuse) the bench database at ``url``; returns its size."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from bench.seed_results import bulk_seed
    from common.db import make_engine, upgrade
    from evaluator.tables import EvalRun, ItemResult

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        runs = session.execute(select(func.count(EvalRun.id))).scalar_one()
        if runs == models:
            rows = session.execute(select(func.count(ItemResult.id))).scalar_one()
            print(f"  reusing the database: {runs} runs, {rows:,} item rows")
            return {"models": runs, "item_rows": rows}
        if runs:
            raise SystemExit(f"{url} holds {runs} runs, not {models}: remove it or choose another --db-dir")
    start = time.perf_counter()

    def progress(done: int, rows: int) -> None:
        if done % 100 == 0:
            print(f"  built {done} models, {rows:,} rows, {time.perf_counter() - start:.0f} s", flush=True)

    size = bulk_seed(engine, models, items_per_task, progress=progress)
    print(f"  built in {time.perf_counter() - start:.0f} s")
    engine.dispose()
    return size


def bench_api(url: str) -> dict[str, float]:
    """Median times of the read API calls the pages make."""
    from common.db import make_engine, session_scope
    from leaderboard import item_browser, model_report, ranking, runs

    engine = make_engine(url)
    with session_scope(engine) as session:
        frame = ranking.leaderboard_frame(session)
        middle = frame.iloc[len(frame) // 2]
        run_id, other = int(middle["run_id"]), int(frame.iloc[0]["run_id"])
        figures = {
            "data_version": timed(lambda: runs.data_version(session)),
            "leaderboard_frame": timed(lambda: ranking.leaderboard_frame(session)),
            "task_frame(reasoning)": timed(lambda: ranking.task_frame(session, "reasoning")),
            "model_report": timed(lambda: model_report.model_report(session, str(middle["model_id"]))),
            "browse_items(page 1)": timed(lambda: item_browser.browse_items(session, run_id,
                                                                            item_browser.ItemFilter())),
            "browse_items(wrong, Omissions, page 3)": timed(lambda: item_browser.browse_items(
                session, run_id, item_browser.ItemFilter(outcome="wrong", tag="Omissions"), 3)),
            "tag_counts": timed(lambda: item_browser.tag_counts(session, run_id)),
            "disagreements(2 runs)": timed(lambda: item_browser.disagreements(session, [run_id, other])),
        }
    engine.dispose()
    return figures


WRAPPER = """
import runpy, time
_start = time.perf_counter()
try:
    runpy.run_path({page!r}, run_name="__main__")
finally:
    with open({out!r}, "a") as _f:
        _f.write(f"{{time.perf_counter() - _start}}\\n")
"""


def bench_pages(url: str, workdir: Path) -> dict[str, float]:
    """Server time of a full page script run (measured inside the script run, so AppTest's own harness time
    is left out), cold (empty data cache) and warm, median of 3."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import leaderboard.cache  # noqa: F401  (the package must win over leaderboard/pages/leaderboard.py)
    from common.db import reset_engines, session_scope
    from common.settings import get_settings
    from leaderboard import ranking

    os.environ["MEDBENCH_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    workdir.mkdir(parents=True, exist_ok=True)
    times = workdir / "script-times.txt"

    def run(page: str, **query: str) -> float:
        wrapper = workdir / f"timed_{page}.py"
        wrapper.write_text(WRAPPER.format(page=str(ROOT / "leaderboard" / "pages" / f"{page}.py"), out=str(times)))
        times.write_text("")
        app = AppTest.from_file(str(wrapper), default_timeout=120)
        for key, value in query.items():
            app.query_params[key] = value
        app.run()
        if app.exception or app.error:
            problem = (app.exception or app.error)[0]
            raise SystemExit(f"{page} failed: {getattr(problem, 'message', None) or problem.value}")
        return float(times.read_text().split()[-1])

    run("leaderboard")  # imports, engine and migrations check: not part of a page render
    with session_scope() as session:
        frame = ranking.leaderboard_frame(session)
    model = str(frame.iloc[len(frame) // 2]["model"])  # opened by hub id, as a shared link would
    figures: dict[str, float] = {}
    for label, page, query in (("leaderboard", "leaderboard", {}),
                               ("leaderboard, Reasoning view + search", "leaderboard",
                                {"view": "Reasoning", "q": "org1 license:mit"}),
                               ("model page", "model", {"model": model}),
                               ("model page, wrong answers filter", "model",
                                {"model": model, "qo": "wrong", "qtag": "Omissions"})):
        cold = []
        for _ in range(3):
            st.cache_data.clear()
            cold.append(run(page, **query))
        figures[f"{label} (cold)"] = statistics.median(cold)
        figures[f"{label} (warm)"] = statistics.median(run(page, **query) for _ in range(3))
    reset_engines()
    return figures


def report(backend: str, size: dict[str, int], api: dict[str, float], pages: dict[str, float]) -> None:
    print(f"\n== {backend}: {size['models']:,} models, {size['item_rows']:,} item rows ==")
    print("read API (median of 5):")
    for name, seconds in api.items():
        print(f"  {name:<42} {seconds * 1000:8.1f} ms")
    print(f"page render, server time (median of 3; target < {TARGET_S:.0f} s cold):")
    for name, seconds in pages.items():
        verdict = "" if "warm" in name else ("  ok" if seconds < TARGET_S else "  OVER TARGET")
        print(f"  {name:<42} {seconds * 1000:8.1f} ms{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--items-per-task", type=int, default=50, help="50 -> 2,000 item rows per run")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--db-dir", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args()
    os.environ.setdefault("MEDBENCH_DATA_DIR", str(args.db_dir))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        server = None
        if backend == "sqlite":
            args.db_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{args.db_dir / f'bench-{args.models}x{args.items_per_task}.db'}"
        else:
            from tests.pg_server import start_pg_server

            server = start_pg_server()
            url = server.create_database()
        try:
            print(f"{backend}: preparing {url.split('@')[-1]}")
            size = build(url, args.models, args.items_per_task)
            report(backend, size, bench_api(url), bench_pages(url, args.db_dir / "pages"))
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
