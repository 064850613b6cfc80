"""Worker figures: time to a full demo leaderboard, claim throughput under contention, cancel latency.

1. demo: on a fresh SQLite database, ``cli.py eval bootstrap-demo`` then ``python -m evaluator.ops.worker --until-idle``
   (real processes, as README's run command does); prints the wall time of each step and each run's duration
   (claim to finished) as stored in the database.
2. claims: N pending runs (no model) claimed by 1 and by 4 concurrent claimers with their own connections, on
   SQLite and, when PostgreSQL's binaries are installed, on a throwaway PostgreSQL server; prints claims/s and
   checks that no run was claimed twice.
3. cancel: an organizer's cancel of a running tiny-model run, measured until the run is ``cancelled``.

    .venv/bin/python bench/bench_worker.py [--skip-demo] [--claims 200]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_demo(workdir: Path) -> None:
    env = {**os.environ, "MEDBENCH_DATA_DIR": str(workdir / "data"), "MEDBENCH_MODEL_CACHE_DIR": str(workdir / "models"),
           "HF_ENDPOINT": "http://127.0.0.1:9", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "MEDBENCH_DATABASE_URL": ""}
    for label, cmd in (("bootstrap-demo", [sys.executable, "cli.py", "eval", "bootstrap-demo"]),
                       ("worker --until-idle", [sys.executable, "-m", "evaluator.ops.worker", "--until-idle"])):
        began = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"demo: {label:<22} {time.perf_counter() - began:7.1f} s")
    os.environ.update({k: v for k, v in env.items() if k.startswith("MEDBENCH_")})
    from sqlmodel import Session, select

    from common.db import get_engine
    from evaluator.ops.leases import as_utc
    from evaluator.tables import EvalRun
    from submissions.tables import ModelEntry

    with Session(get_engine()) as session:
        for run, hub_id in session.exec(select(EvalRun, ModelEntry.hub_id).join(ModelEntry,
                                                                                 ModelEntry.id == EvalRun.model_id)):
            took = (as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds()
            print(f"demo: run {run.id} {hub_id:<22} {run.status:<9} {run.progress_total} (item, order) pairs "
                  f"in {took:6.1f} s")


def bench_claims(url: str, label: str, n_runs: int) -> None:
    from common.db import make_engine, upgrade
    from evaluator.ops.leases import claim_next_run
    from tests.worker.factories import add_model, add_pending_run, add_suite, choice_item

    engine = make_engine(url)
    upgrade(engine)
    suite = add_suite(engine, [choice_item(1)], name=f"bench-{time.time_ns()}")
    for claimers in (1, 4):
        for i in range(n_runs):
            add_pending_run(engine, suite, add_model(engine, f"bench/{claimers}-{i}-{time.time_ns()}", params=i))
        claimed: list[int] = []
        lock = threading.Lock()

        def claim_all(owner: str) -> None:
            own = make_engine(url)
            while (claim := claim_next_run(own, owner, lease_seconds=600)) is not None:
                with lock:
                    claimed.append(claim.run_id)
            own.dispose()

        threads = [threading.Thread(target=claim_all, args=(f"bench-{claimers}-{i}",)) for i in range(claimers)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - began
        duplicates = len(claimed) - len(set(claimed))
        print(f"claims: {label:<10} {claimers} claimer(s): {len(claimed)} runs in {took:6.2f} s = "
              f"{len(claimed) / took:7.1f} claims/s, duplicates: {duplicates}")
    engine.dispose()


def bench_cancel(workdir: Path) -> None:
    from common.db import make_engine, upgrade
    from common.settings import get_settings
    from evaluator.ops.leases import request_cancel
    from evaluator.engine.tiny_models import build_tiny_model
    from evaluator.ops.worker import Worker
    from sqlmodel import Session

    from evaluator.tables import EvalRun
    from tests.worker.factories import add_model, add_suite, approve, demo_items

    engine = make_engine(f"sqlite:///{workdir / 'cancel.db'}")
    upgrade(engine)
    add_suite(engine, demo_items("Med-Exam", 61))
    approve(engine, add_model(engine, "bench/tiny", local_path=build_tiny_model(workdir / "tiny", seed=3)))
    settings = get_settings().model_copy(update={"lease_seconds": 60.0})
    worker = Worker(engine, settings, device="cpu")
    thread = threading.Thread(target=worker.drain, daemon=True)
    thread.start()
    def run_now():  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            return session.get(EvalRun, 1)

    while (run := run_now()) is None or run.progress_done == 0:
        time.sleep(0.01)
    began = time.perf_counter()
    request_cancel(engine, 1, actor_name="bench")
    while (status := run_now().status) == "running":
        time.sleep(0.01)
    print(f"cancel: the running run ended {status} {time.perf_counter() - began:5.2f} s after the request "
          f"(heartbeat every {min(5.0, settings.lease_seconds / 3):g} s, lease {settings.lease_seconds:g} s)")
    thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--claims", type=int, default=200, help="runs per claim round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        workdir = Path(tmp)
        if not args.skip_demo:
            bench_demo(workdir)
        bench_claims(f"sqlite:///{workdir / 'claims.db'}", "sqlite", args.claims)
        try:
            from tests.pg_server import start_pg_server

            server = start_pg_server()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"claims: postgresql skipped ({exc})")
        else:
            try:
                bench_claims(server.create_database(), "postgresql", args.claims)
            finally:
                server.stop()
        bench_cancel(workdir)


if __name__ == "__main__":
    main()
