"""The run planner against a measured run, and what it projects for a MedBench-sized run on GPUs.

1. Calibrate a CPU profile here (``evaluator.engine.planner.calibrate_cpu``: matmul FLOP/s, copy bandwidth and the tiny
   model's per-pass overhead, each measured on small fixed inputs, not on the suite).
2. Estimate the demo-suite run of a tiny random model on that profile (exact prompts, the model's tokenizer).
3. Run it for real (``execute_run``, one process, one thread) and print estimate vs measured, and the forward
   passes the planner counted vs those the runner counted.
4. Project a 7B model on the demo suite's task mix at MedBench's 300,901 items, on H100s, for two chunk sizes and
   1-8 GPUs, and place a 72B model.

    .venv/bin/python bench/bench_planner.py [--tasks Med-Exam DrugCA ...] [--limit-per-task N] [--hidden 64]
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
MEDBENCH_ITEMS = 300_901  # the MedBench platform paper's question count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", default=None, help="demo-suite tasks (default: all)")
    parser.add_argument("--limit-per-task", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=64, help="tiny model hidden size")
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-planner-"))
    os.environ["MEDBENCH_DATA_DIR"] = str(work / "data")
    os.environ.pop("MEDBENCH_DATABASE_URL", None)

    import torch
    from sqlmodel import Session

    from common.db import get_engine
    from evaluator.engine.planner import PROFILES, calibrate_cpu, estimate_spec
    from evaluator.engine.execution import execute_run
    from evaluator.engine.spec import stored_specs
    from evaluator.engine.units import create_run
    from evaluator.engine.runners import load_runner
    from evaluator.benchmark.suites.bundled import ensure_demo_suite
    from evaluator.tables import EvalRun
    from evaluator.engine.tiny_models import build_tiny_model, folder_sha, model_info
    from submissions.tables import ModelEntry

    torch.set_num_threads(1)
    folder = build_tiny_model(work / "tiny", "random", seed=3, hidden_size=args.hidden, num_layers=args.layers)
    params = int(model_info(folder)["params"])
    engine = get_engine()
    overrides = {key: value for key, value in (("tasks", args.tasks), ("limit_per_task", args.limit_per_task))
                 if value}
    with Session(engine) as session:
        suite = ensure_demo_suite(session)
        model = ModelEntry(hub_id="local/tiny", commit_sha=folder_sha(folder), precision="float32",
                           local_path=str(folder), params=params)
        session.add(model)
        session.flush()
        run = create_run(session, model, suite, device="cpu", **overrides)
        session.commit()
        run_id, suite_id, (spec, execution) = run.id, suite.id, stored_specs(run)

    print(f"model: tiny random Llama, {params:,} parameters (hidden {args.hidden}, {args.layers} layers), "
          "CPU, 1 thread")
    began = time.perf_counter()
    profile = calibrate_cpu(folder, threads=1)
    print(f"calibrated in {time.perf_counter() - began:.1f} s: {profile.peak_flops / 1e9:.1f} GFLOP/s, "
          f"{profile.memory_bandwidth / 1e9:.1f} GB/s, {profile.pass_overhead_s * 1e3:.2f} ms per pass, "
          f"{profile.decode_overhead_s * 1e3:.2f} ms per decode step")
    with Session(engine) as session:
        began = time.perf_counter()
        estimate = estimate_spec(session, spec, suite_id, params, device=profile, model_path=folder,
                                 max_items_per_task=None, batch_policy=execution.batch_policy)
        planned_in = time.perf_counter() - began
    print(f"estimate ({planned_in:.2f} s to plan): {estimate.summary()}")

    runner = load_runner(str(folder), dtype="float32", device="cpu")
    began = time.perf_counter()
    execute_run(run_id, engine=engine, runner=runner)
    measured = time.perf_counter() - began
    with Session(engine) as session:
        units = session.get(EvalRun, run_id).progress_total
    counted = runner.info.counters["forward_passes"]
    print(f"measured: {measured:.1f} s for {units} units ({units / measured:.1f} units/s); "
          f"estimated {estimate.time_s:.1f} s (estimate / measured = {estimate.time_s / measured:.2f})")
    print(f"forward passes: planner {estimate.letter_passes + estimate.generate_batches:.0f} "
          f"(letter {estimate.letter_passes:.0f} + generation batches {estimate.generate_batches:.0f}), "
          f"runner {counted}")

    print(f"\nprojection: the demo suite's task mix at {MEDBENCH_ITEMS:,} items, K=5, bf16, vLLM, "
          f"{PROFILES['h100'].name}; prompts counted at 1.4 chars/token")
    print(f"{'model':>6} {'chunk_items':>11} {'GPUs':>4} {'time':>8} {'tokens computed':>16} {'memory/GPU':>10}")
    for label, n_params in (("7B", 7_620_000_000), ("14B", 14_700_000_000), ("72B", 72_700_000_000)):
        for chunk_items in (16, 256):
            for gpus in ((1, 2, 4, 8) if label == "7B" else (4, 8) if label == "72B" else (1,)):
                with Session(engine) as session:
                    big_spec = spec.model_copy(update={"tasks": None, "limit_per_task": None})
                    policy = execution.batch_policy.model_copy(update={"chunk_items": chunk_items})
                    projected = estimate_spec(session, big_spec, suite_id, n_params, device="h100", gpus=gpus,
                                              dtype="bfloat16", target_items=MEDBENCH_ITEMS, batch_policy=policy)
                print(f"{label:>6} {chunk_items:>11} {gpus:>4} {projected.time_s / 3600:>7.2f}h "
                      f"{projected.computed_tokens / 1e9:>14.2f} G {projected.peak_memory_gb:>8.1f} GB"
                      + (f"  (tensor parallel {projected.tensor_parallel})" if projected.tensor_parallel > 1 else ""))


if __name__ == "__main__":
    main()
