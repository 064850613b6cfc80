"""Choice scoring throughput and agreement: this evaluator against lm-evaluation-harness 0.4 (hf backend).

The same choice items x 5 orders (the demo suite's Med-Exam, MedSafety and DrugCA, yes/no items asked under
their 2 orders), the same model, the same exact prompts (written by evaluator.benchmark.prompts, chat template applied)
and the same letters. Each side runs in its own process, so "whole process" covers interpreter start, imports,
model load, scoring and writing results; "scoring stage" is execute_run here and simple_evaluate there.

Prints items/s for both, their ratio, per-item agreement of the chosen letter (disagreements listed with their
score gaps), the largest log-prob difference and each process's peak memory; on a GPU also tokens/s and the
fraction of the GPU's bf16 peak.

    .venv/bin/pip install -r bench/requirements-bench.txt
    .venv/bin/python bench/bench_choice.py [--tokenizer qwen|trained --hidden 256 --layers 8 --repeat 1]

The default model is a real Chinese LLM's tokenizer (Qwen's 151,851 tokens, bench/qwen_tokenizer.py) on a small
Llama (hidden 256, 8 layers, tied embeddings: about 43.6M parameters), so prompt lengths, how much the orders of
an item share, and the vocabulary-sized output layer are realistic. ``--tokenizer trained`` instead trains a
byte-level BPE on the suite and the project's text (``--vocab`` at most; about 26k tokens here: the corpus is
small) with untied embeddings: the previous, smaller-vocabulary configuration. Weights are random: compute, not
knowledge, is what is measured. Each side runs ``--rounds`` times, alternating, and its fastest round is reported: the machine
may be shared, and the minimum is the least disturbed measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TASK_NAME = "medbench_choice_bench"
CHOICE_TASKS = ("Med-Exam", "MedSafety", "DrugCA")
GPU_BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----- preparation (parent process) ---------------------------------------------------------------------------------
def corpus_texts() -> list[str]:
    """Tokenizer training text: the demo suite and the project's own documents and code (Chinese + English)."""
    files = [*(ROOT / "evaluator/benchmark/suites/demo").glob("*.jsonl"), *ROOT.glob("docs/*.md"), ROOT / "README.md",
             *(ROOT.parent / "shared").glob("*.md"), *[p for p in ROOT.rglob("*.py") if ".venv" not in p.parts]]
    return [f.read_text(encoding="utf-8", errors="ignore") for f in files if f.is_file()]


def prepare(work: Path, args: argparse.Namespace) -> dict:
    from transformers import AutoTokenizer

    from evaluator.benchmark.items import Item
    from evaluator.benchmark.permutations import item_orders, shown_letters
    from evaluator.benchmark.prompts import build_prompt, candidates_of
    from evaluator.benchmark.tasks import get_task
    from evaluator.engine.tiny_models import build_tiny_model, model_info

    tie = args.tokenizer == "qwen"
    name = "qwen" if args.tokenizer == "qwen" else f"trained-v{args.vocab}"
    model_dir = work / f"model-{name}-h{args.hidden}-l{args.layers}{'-tied' if tie else ''}"
    if not (model_dir / "config.json").exists():
        if args.tokenizer == "qwen":
            from bench.qwen_tokenizer import build_qwen_tokenizer

            build_tiny_model(model_dir, "random", seed=0, hidden_size=args.hidden, num_layers=args.layers,
                             tokenizer=build_qwen_tokenizer(), tie_word_embeddings=True)
        else:
            build_tiny_model(model_dir, "random", seed=0, hidden_size=args.hidden, num_layers=args.layers,
                             vocab_size=args.vocab, corpus=corpus_texts())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    suite_dir = work / "suite"
    suite_dir.mkdir(exist_ok=True)
    requests = []
    for task_name in CHOICE_TASKS:
        lines = (ROOT / "evaluator/benchmark/suites/demo" / f"{task_name}.jsonl").read_text(encoding="utf-8").splitlines()
        items = [Item.model_validate_json(line) for line in lines if line.strip()]
        items = [i.model_copy(update={"id": f"{i.id}-r{r}"}) for r in range(args.repeat) for i in items]
        (suite_dir / f"{task_name}.jsonl").write_text(
            "\n".join(json.dumps(i.model_dump(), ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
        task = get_task(task_name)
        for item in items:
            for order, perm in enumerate(item_orders(task.kind, item.options, candidates_of(item), 5, 0, item.id)):
                letters = shown_letters(len(perm))
                requests.append({"key": f"{item.id}#{order}", "prompt": build_prompt(task, item, perm, tokenizer, True),
                                 "letters": letters, "target": perm.index(item.answer[0])})
    (work / "requests.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in requests) + "\n",
                                         encoding="utf-8")
    task_dir = work / "lmeval_task"
    task_dir.mkdir(exist_ok=True)
    (task_dir / f"{TASK_NAME}.yaml").write_text(
        f"task: {TASK_NAME}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {work / 'requests.jsonl'}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: \"{{prompt}}\"\n"
        "doc_to_choice: \"{{letters}}\"\ndoc_to_target: \"{{target}}\"\ntarget_delimiter: \"\"\n"
        "metric_list:\n  - metric: acc\n", encoding="utf-8")
    info = model_info(model_dir)
    return {"model": str(model_dir), "params": info["params"], "vocab": len(tokenizer), "suite": str(suite_dir),
            "questions": len(requests),
            "prompt_tokens": sum(len(tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]) for r in requests)}


# ----- stage: this evaluator (child process) ------------------------------------------------------------------------
def stage_ours(work: Path, model: str, suite_dir: str, token_budget: int | None) -> None:
    os.environ["MEDBENCH_DATA_DIR"] = str(work / "ours-data")
    from sqlmodel import Session, select

    from common.db import get_engine
    from evaluator.engine.execution import execute_run
    from evaluator.engine.scoring import score_run
    from evaluator.engine.units import create_run
    from evaluator.engine.runners import load_runner
    from evaluator.benchmark.suites.importer import import_suite
    from evaluator.tables import ItemResult, SuiteItem
    from evaluator.engine.tiny_models import folder_sha
    from submissions.tables import ModelEntry

    import shutil

    shutil.rmtree(work / "ours-data", ignore_errors=True)
    engine = get_engine()
    with Session(engine) as session:
        suite = import_suite(session, suite_dir, "bench")
        entry = ModelEntry(hub_id="local/bench", commit_sha=folder_sha(model), precision="float32", local_path=model)
        session.add(entry)
        session.flush()
        run = create_run(session, entry, suite, device="cpu" if not _cuda() else "cuda",
                         **({"token_budget": token_budget} if token_budget else {}))
        session.commit()
        run_id = run.id
    t_load = time.perf_counter()
    runner = load_runner(model, device="cuda" if _cuda() else "cpu", token_budget=token_budget)
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    execute_run(run_id, engine=engine, runner=runner)
    scoring_s = time.perf_counter() - t0
    score_run(run_id, engine=engine)
    with Session(engine) as session:
        rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                            .where(ItemResult.run_id == run_id)).all()
        scores = {f"{key}#{r.order_index}": r.letter_scores for r, key in rows}
        prompts = {f"{key}#{r.order_index}": r.prompt for r, key in rows}
    _dump(work / "ours.json", {"scores": scores, "prompts": prompts, "scoring_s": scoring_s, "load_s": load_s,
                               "peak_rss_mb": peak_rss_mb(), "counters": runner.info.counters,
                               "settings": runner.info.settings, "gpu_peak_mb": _gpu_peak_mb()})


# ----- stage: lm-evaluation-harness (child process) ------------------------------------------------------------------
def stage_lmeval(work: Path, model: str, batch: int) -> None:
    os.environ.setdefault("HF_DATASETS_CACHE", str(work / "hf-datasets"))
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    t_load = time.perf_counter()
    lm = HFLM(pretrained=model, batch_size=batch, device="cuda" if _cuda() else "cpu",
              dtype="bfloat16" if _cuda() else "float32")
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    results = lm_eval.simple_evaluate(model=lm, tasks=[TASK_NAME], task_manager=TaskManager(include_path=str(work / "lmeval_task")),
                                      log_samples=True, bootstrap_iters=0, verbosity="ERROR")
    scoring_s = time.perf_counter() - t0
    scores = {}
    for sample in results["samples"][TASK_NAME]:
        doc = sample["doc"]
        scores[doc["key"]] = {letter: float(resp[0][0]) for letter, resp in zip(doc["letters"], sample["resps"])}
    _dump(work / "lmeval.json", {"scores": scores, "scoring_s": scoring_s, "load_s": load_s,
                                 "peak_rss_mb": peak_rss_mb(), "acc": results["results"][TASK_NAME].get("acc,none"),
                                 "gpu_peak_mb": _gpu_peak_mb()})


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _gpu_peak_mb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# ----- orchestration and report --------------------------------------------------------------------------------------
def run_child(args: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"{args[1]} stage failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-choice")
    parser.add_argument("--tokenizer", choices=["qwen", "trained"], default="qwen",
                        help="Qwen's real tokenizer (tied embeddings) or a BPE trained on the suite (untied)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=32000, help="largest vocabulary of the trained tokenizer")
    parser.add_argument("--repeat", type=int, default=1, help="copies of the demo choice items")
    parser.add_argument("--lmeval-batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; each side's fastest is reported")
    parser.add_argument("--token-budget", type=int, default=None)
    parser.add_argument("--stage", choices=["ours", "lmeval"], default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--suite", default=None)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.stage == "ours":
        return stage_ours(work, args.model, args.suite, args.token_budget)
    if args.stage == "lmeval":
        return stage_lmeval(work, args.model, args.lmeval_batch)

    work.mkdir(parents=True, exist_ok=True)
    prep = prepare(work, args)
    import torch

    print(f"model: {prep['params'] / 1e6:.1f}M parameters, {args.tokenizer} tokenizer, vocabulary {prep['vocab']}, hidden {args.hidden}, "
          f"{args.layers} layers; {prep['questions']} questions ((item, order) pairs), "
          f"{prep['prompt_tokens']} prompt tokens; torch threads {torch.get_num_threads()}, "
          f"device {'cuda' if _cuda() else 'cpu'}")
    budget = ["--token-budget", str(args.token_budget)] if args.token_budget else []
    best: dict[str, tuple[float, dict]] = {}
    for round_ in range(args.rounds):  # alternate the two sides; keep each side's fastest round
        for side, child in [("ours", ["--stage", "ours", "--work", str(work), "--model", prep["model"],
                                      "--suite", prep["suite"], *budget]),
                            ("lmeval", ["--stage", "lmeval", "--work", str(work), "--model", prep["model"],
                                        "--lmeval-batch", str(args.lmeval_batch)])]:
            wall = run_child(child)
            result = json.loads((work / f"{side}.json").read_text(encoding="utf-8"))
            print(f"round {round_ + 1} {side}: whole process {wall:.1f}s, scoring stage {result['scoring_s']:.1f}s",
                  flush=True)
            if side not in best or wall < best[side][0]:
                best[side] = (wall, result)
    report(prep, best["ours"][1], best["lmeval"][1], best["ours"][0], best["lmeval"][0], work, args)


def report(prep: dict, ours: dict, lm: dict, ours_wall: float, lm_wall: float, work: Path, args) -> None:
    requests = {r["key"]: r for r in map(json.loads, (work / "requests.jsonl").read_text(encoding="utf-8").splitlines())}
    same_prompts = all(ours["prompts"][k] == r["prompt"] for k, r in requests.items())
    n = prep["questions"]
    print(f"\nsame prompts on both sides: {same_prompts}; questions scored: ours {len(ours['scores'])}, "
          f"lm-eval {len(lm['scores'])}")
    print(f"{'':22}{'this evaluator':>16}{'lm-eval 0.4.13':>16}{'ratio':>8}")
    for label, a, b in [("whole process (q/s)", n / ours_wall, n / lm_wall),
                        ("scoring stage (q/s)", n / ours["scoring_s"], n / lm["scoring_s"])]:
        print(f"{label:22}{a:16.1f}{b:16.1f}{a / b:8.2f}x")
    print(f"{'whole process (s)':22}{ours_wall:16.1f}{lm_wall:16.1f}")
    print(f"{'model load (s)':22}{ours['load_s']:16.1f}{lm['load_s']:16.1f}")
    print(f"{'peak RSS (MB)':22}{ours['peak_rss_mb']:16.0f}{lm['peak_rss_mb']:16.0f}")
    if ours.get("gpu_peak_mb"):
        print(f"{'peak GPU memory (MB)':22}{ours['gpu_peak_mb']:16.0f}{lm['gpu_peak_mb']:16.0f}")
    agree, disagreements, max_diff = 0, [], 0.0
    for key in requests:
        a, b = ours["scores"][key], lm["scores"][key]
        max_diff = max(max_diff, max(abs(a[x] - b[x]) for x in a))
        ca, cb = max(a, key=a.get), max(b, key=b.get)
        if ca == cb:
            agree += 1
        else:
            disagreements.append((key, ca, cb, a[ca] - a[cb], b[cb] - b[ca]))
    print(f"\nchosen-letter agreement: {agree}/{n} = {100 * agree / n:.2f}%; largest |log-prob difference| "
          f"{max_diff:.2e}")
    for key, ca, cb, gap_a, gap_b in disagreements[:20]:
        print(f"  {key}: ours {ca} (gap {gap_a:.2e}) vs lm-eval {cb} (gap {gap_b:.2e})")
    print(f"runner: {ours['settings']} counters {ours['counters']}")
    if _cuda():
        import torch

        name = torch.cuda.get_device_name(0)
        peak = next((v for k, v in GPU_BF16_PEAK_TFLOPS.items() if k in name), None)
        tokens_s = prep["prompt_tokens"] / ours["scoring_s"]
        achieved = 2 * prep["params"] * tokens_s / 1e12
        print(f"GPU {name}: {tokens_s:,.0f} prompt tokens/s, ~{achieved:.1f} TFLOP/s"
              + (f" = {100 * achieved / peak:.1f}% of bf16 peak ({peak:.0f} TFLOP/s)" if peak else ""))
    else:
        print("no GPU here: tokens/s against the bf16 peak is printed only on a GPU machine")
    print(f"machine: {os.cpu_count()} CPU cores visible, shared with other work (timings are noisy)")


if __name__ == "__main__":
    main()
