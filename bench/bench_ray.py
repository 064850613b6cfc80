"""Items/s of one run on a local Ray cluster with 1 vs 2 CPU actors, beside the single-process execute_run.

Every side runs the same demo-suite run (same spec, same tiny random model, one thread per model replica) into
its own run row of one SQLite database. "whole" includes starting the actors (a Python process each, importing
torch and loading the model); "steady" is the rate between the first and the last committed chunk, what a long
run sees. The rows of every side are compared at the end (prompts and outputs equal, letter log-probs within
1e-5), so a speed-up never comes from doing different work.

    .venv/bin/python bench/bench_ray.py [--tasks Med-Exam DrugCA ...] [--limit-per-task N] [--hidden 256]

On a machine shared with other work the 2-actor figure is bounded by the free cores: the script prints the load
average and each actor's CPU seconds per wall second inside its chunks (below 1: it waited for a core), and the
CPU-bound rate: items / CPU seconds of the busiest replica (the whole process for the single-process run), the
rate each side reaches when every replica has a core of its own.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_TASKS = ["Med-Exam", "MedSafety", "DrugCA", "DDx-basic", "DDx-advanced", "MedHG", "CHIP-CTC"]


class Clock:
    """on_progress: when the first and the last chunk were committed, and how many units each time."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, done)
        elif self.last is None or done > self.last[1]:
            self.last = (now, done)

    def steady_rate(self) -> float | None:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return None
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", default=DEFAULT_TASKS, help="demo-suite tasks")
    parser.add_argument("--limit-per-task", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=256, help="tiny model hidden size")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--chunk-items", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    os.environ["MEDBENCH_DATA_DIR"] = str(work / "data")
    os.environ.pop("MEDBENCH_DATABASE_URL", None)

    import ray
    import torch
    from sqlmodel import Session, select

    from common.db import get_engine
    from evaluator.engine.distributed import execute_run_distributed
    from evaluator.engine.execution import execute_run
    from evaluator.engine.spec import RunSpec
    from evaluator.engine.units import create_run, selected_items
    from evaluator.benchmark.suites.bundled import ensure_demo_suite
    from evaluator.tables import EvalRun, ItemResult
    from evaluator.engine.tiny_models import build_tiny_model, folder_sha, model_info
    from submissions.tables import ModelEntry

    torch.set_num_threads(1)
    folder = build_tiny_model(work / "tiny", "random", seed=5, hidden_size=args.hidden, num_layers=args.layers)
    engine = get_engine()
    overrides = {"tasks": args.tasks, "device": "cpu", "chunk_items": args.chunk_items}
    if args.limit_per_task:
        overrides["limit_per_task"] = args.limit_per_task
    with Session(engine) as session:
        suite = ensure_demo_suite(session)
        model = ModelEntry(hub_id="local/tiny", commit_sha=folder_sha(folder), precision="float32",
                           local_path=str(folder))
        session.add(model)
        session.flush()
        runs = [create_run(session, model, suite, **overrides) for _ in range(3)]
        session.commit()
        run_ids = [r.id for r in runs]
        units = runs[0].progress_total
        items = len(selected_items(session, RunSpec.model_validate(runs[0].run_spec), suite.id))

    print(f"model: tiny random Llama, {model_info(folder)['params']:,} parameters; run: {items} items, {units} "
          f"(item, order) units of {', '.join(args.tasks)}; chunk_items {args.chunk_items}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"ray {ray.__version__} local cluster (2 CPUs) started in {time.perf_counter() - began:.1f} s")

    rows = []
    for label, call in (
        ("single process (execute_run)", lambda rid, clock: execute_run(rid, engine=engine, on_progress=clock)),
        ("ray, 1 actor", lambda rid, clock: execute_run_distributed(rid, num_actors=1, engine=engine,
                                                                   on_progress=clock)),
        ("ray, 2 actors", lambda rid, clock: execute_run_distributed(rid, num_actors=2, engine=engine,
                                                                    on_progress=clock)),
    ):
        run_id = run_ids[len(rows)]
        clock = Clock()
        began, cpu_began = time.perf_counter(), time.process_time()
        call(run_id, clock)
        whole, driver_cpu = time.perf_counter() - began, time.process_time() - cpu_began
        steady = clock.steady_rate()
        rows.append((label, whole, steady))
        with Session(engine) as session:
            shards = (session.get(EvalRun, run_id).environment.get("distributed") or {}).get("shards", [])
        # with a core per replica the run would take as long as its busiest replica's CPU time
        compute_cpu = max(s["cpu_s"] for s in shards) if shards else driver_cpu
        cores = ("; actor CPU/wall " + ", ".join(f"{s['cpu_s'] / s['busy_s']:.2f}" for s in shards)) if shards else ""
        print(f"{label:<30} whole {whole:6.1f} s = {items / whole:6.2f} items/s ({units / whole:6.1f} units/s); "
              f"steady {steady / units * items if steady else float('nan'):6.2f} items/s "
              f"({steady or float('nan'):6.1f} units/s){cores}; "
              f"CPU-bound: {items / compute_cpu:6.2f} items/s with a free core per replica")
    ray.shutdown()
    base = rows[1][2]
    if base and rows[2][2]:
        print(f"2 actors vs 1 actor, steady: × {rows[2][2] / base:.2f}; whole: × {rows[1][1] / rows[2][1]:.2f}")

    with Session(engine) as session:
        def keyed(run_id: int) -> dict[tuple[int, int], ItemResult]:
            found = session.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
            return {(r.item_id, r.order_index): r for r in found}

        reference = keyed(run_ids[0])
        for run_id in run_ids[1:]:
            other = keyed(run_id)
            same = other.keys() == reference.keys() and all(
                (other[k].prompt, other[k].raw_output) == (reference[k].prompt, reference[k].raw_output)
                and all(abs(other[k].letter_scores[x] - v) <= 1e-5 for x, v in reference[k].letter_scores.items())
                for k in reference)
            print(f"run {run_id} rows equal to the single-process run's: {same}")


if __name__ == "__main__":
    main()
