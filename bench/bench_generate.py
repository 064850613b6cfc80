"""The ``generate`` protocol against lm-evaluation-harness ``generate_until`` on the same prompts.

The demo suite's choice tasks (single choice, yes/no, multi choice; ``--limit`` items per task), every item under
its K orders, answered in text by this evaluator (``execute_run`` with ``protocol="generate"``: token-budget
batches, an item's stem prefilled once for its K orders where that pays, stop strings, early stop once the answer
is settled) and by lm-evaluation-harness's ``HFLM.generate_until`` on exactly the prompts the evaluator stored,
with the same greedy settings (``until`` = the run's stop strings, ``max_gen_toks`` = the run's limit per task).
Both answers go through the project's extractor; the share of identical extracted answers is the agreement.
Each side runs in its own process (whole-process time and peak memory are its own); the stage is the generation
call alone. The cost of ``generate`` relative to ``logprob`` (letter scoring) on the same items is printed too.

Model: bench_floor's random 34M Qwen2 with a 32k vocabulary, fp32, CPU (or the GPU where there is one).

    .venv/bin/python bench/bench_generate.py [--limit 10 --threads 1 --batch 32]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHOICE_TASKS = ("Med-Exam", "MedSafety", "DrugCA", "DDx-basic", "DDx-advanced")


# ----- stage: this evaluator (child process) ------------------------------------------------------------------------
def stage_ours(work: Path, model: str, protocol: str, limit: int) -> None:
    os.environ["MEDBENCH_DATA_DIR"] = str(work / f"ours-{protocol}-data")
    shutil.rmtree(work / f"ours-{protocol}-data", ignore_errors=True)
    from sqlmodel import Session, select

    from bench.bench_choice import _cuda, _gpu_peak_mb, peak_rss_mb
    from common.db import get_engine
    from evaluator.benchmark.suites.importer import import_suite
    from evaluator.engine.execution import execute_run
    from evaluator.engine.units import create_run
    from evaluator.engine.runners import load_runner
    from evaluator.engine.tiny_models import folder_sha
    from evaluator.tables import ItemResult, SuiteItem
    from submissions.tables import ModelEntry

    engine = get_engine()
    with Session(engine) as session:
        suite = import_suite(session, work / "suite", "bench-generate")
        entry = ModelEntry(hub_id="local/bench", commit_sha=folder_sha(model), precision="float32", local_path=model)
        session.add(entry)
        session.flush()
        run = create_run(session, entry, suite, device="cuda" if _cuda() else "cpu", protocol=protocol,
                         limit_per_task=limit)
        spec = dict(run.run_spec)
        session.commit()
        run_id = run.id
    runner = load_runner(model, device="cuda" if _cuda() else "cpu")
    t0 = time.perf_counter()
    execute_run(run_id, engine=engine, runner=runner)
    stage_s = time.perf_counter() - t0
    with Session(engine) as session:
        rows = session.exec(select(ItemResult, SuiteItem).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                            .where(ItemResult.run_id == run_id).order_by(ItemResult.id)).all()
        answers = [{"key": f"{item.item_key}#{r.order_index}", "task": item.task, "prompt": r.prompt,
                    "output": r.raw_output, "status": r.status} for r, item in rows]
    _dump(work / f"ours-{protocol}.json", {
        "answers": answers, "stage_s": stage_s, "peak_rss_mb": peak_rss_mb(), "gpu_peak_mb": _gpu_peak_mb(),
        "generation": spec["generation"], "counters": runner.info.counters})


# ----- stage: lm-evaluation-harness (child process) ------------------------------------------------------------------
def stage_lmeval(work: Path, model: str, batch: int) -> None:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from bench.bench_choice import _cuda, _gpu_peak_mb, peak_rss_mb

    ours = json.loads((work / "ours-generate.json").read_text(encoding="utf-8"))
    generation = ours["generation"]
    lm = HFLM(pretrained=model, batch_size=batch, device="cuda" if _cuda() else "cpu",
              dtype="bfloat16" if _cuda() else "float32")
    requests = [Instance(request_type="generate_until", doc={}, idx=i, arguments=(a["prompt"], {
        "until": list(generation["stop"]), "max_gen_toks": generation["max_new_tokens"][a["task"]],
        "do_sample": False})) for i, a in enumerate(ours["answers"])]
    t0 = time.perf_counter()
    outputs = lm.generate_until(requests, disable_tqdm=True)
    stage_s = time.perf_counter() - t0
    _dump(work / "lmeval.json", {"outputs": outputs, "stage_s": stage_s, "peak_rss_mb": peak_rss_mb(),
                                 "gpu_peak_mb": _gpu_peak_mb()})


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# ----- orchestration and report --------------------------------------------------------------------------------------
def extracted(text: str | None, task: str, prompt: str) -> tuple[Any, Any]:
    """The project's extractor on one answer; the shown letters and option texts are read back from the prompt."""
    from evaluator.benchmark.scoring.extract import extract
    from evaluator.benchmark.tasks import get_task

    shown = re.findall(r"^([A-I])\. (.+)$", prompt, flags=re.M)
    result = extract(text or "", get_task(task).kind, [x for x, _ in shown], [t for _, t in shown])
    return result.answer, result.reason


def run_child(args: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode:
        sys.exit(f"{args[1]} stage failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def prepare(work: Path) -> str:
    from bench.bench_floor import build_model

    suite = work / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    suite.mkdir(parents=True)
    for task in CHOICE_TASKS:
        shutil.copy(ROOT / "evaluator/benchmark/suites/demo" / f"{task}.jsonl", suite / f"{task}.jsonl")
    return str(build_model(work / "qwen2-34m"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-generate")
    parser.add_argument("--limit", type=int, default=10, help="items per choice task")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for every process")
    parser.add_argument("--batch", type=int, default=32, help="lm-evaluation-harness batch size")
    parser.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.stage:
        import torch

        torch.set_num_threads(args.threads)
        kind, model, *rest = args.stage
        if kind == "ours":
            stage_ours(work, model, rest[0], int(rest[1]))
        else:
            stage_lmeval(work, model, int(rest[0]))
        return
    work.mkdir(parents=True, exist_ok=True)
    model = prepare(work)
    common = ["--work", str(work), "--threads", str(args.threads), "--stage"]
    wall = {"generate": run_child([*common, "ours", model, "generate", str(args.limit)], args.threads),
            "lmeval": run_child([*common, "lmeval", model, str(args.batch)], args.threads),
            "logprob": run_child([*common, "ours", model, "logprob", str(args.limit)], args.threads)}
    ours = json.loads((work / "ours-generate.json").read_text(encoding="utf-8"))
    lm = json.loads((work / "lmeval.json").read_text(encoding="utf-8"))
    letters = json.loads((work / "ours-logprob.json").read_text(encoding="utf-8"))
    answers = ours["answers"]
    n_items = len({a["key"].split("#")[0] for a in answers})
    same = sum(extracted(a["output"], a["task"], a["prompt"]) == extracted(out, a["task"], a["prompt"])
               for a, out in zip(answers, lm["outputs"]))
    same_text = sum((a["output"] or "") == out for a, out in zip(answers, lm["outputs"]))
    print(f"{n_items} demo choice items ({', '.join(CHOICE_TASKS)}; {args.limit} per task), {len(answers)} prompts "
          f"(K orders each), torch threads {args.threads}, lm-eval batch {args.batch}")
    print(f"{'':28}{'items/s whole':>14}{'items/s stage':>15}{'stage s':>9}{'whole s':>9}{'peak RSS MB':>13}")
    for label, data, key in (("evaluator (generate)", ours, "generate"), ("lm-eval generate_until", lm, "lmeval"),
                             ("evaluator (logprob)", letters, "logprob")):
        print(f"{label:28}{n_items / wall[key]:14.2f}{n_items / data['stage_s']:15.2f}{data['stage_s']:9.1f}"
              f"{wall[key]:9.1f}{data['peak_rss_mb']:13.0f}")
    print(f"ratio (lm-eval time / evaluator time): stage {lm['stage_s'] / ours['stage_s']:.2f}x, "
          f"whole process {wall['lmeval'] / wall['generate']:.2f}x")
    print(f"identical extracted answers: {100 * same / len(answers):.1f}% ({same}/{len(answers)}); "
          f"identical text: {100 * same_text / len(answers):.1f}%")
    print(f"cost of generate relative to logprob on the same items: stage {ours['stage_s'] / letters['stage_s']:.1f}x, "
          f"whole process {wall['generate'] / wall['logprob']:.1f}x")
    print(f"evaluator runner counters (generate): {ours['counters']}")


if __name__ == "__main__":
    main()
