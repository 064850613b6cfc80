"""Re-scoring throughput of the text metrics and the error taxonomy (what ``score_run`` spends per stored row
of a generative task when rules change; no model involved).

For every generative demo item (open-ended, record, extraction, classification) three stored outputs are made:
the reference written in the instructed format, its first half (incomplete), and a degenerate repetition.
Each is scored by the task's metric and tagged by ``evaluator.benchmark.taxonomy.tag_item``; the set is repeated
``--repeat`` times. Prints rows/s overall and per task kind, and the share of time spent in ROUGE-L.

    .venv/bin/python bench/bench_text_scoring.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.benchmark.items import Item  # noqa: E402
from evaluator.benchmark.scoring import get_metric  # noqa: E402
from evaluator.benchmark.scoring import rouge as rouge_module  # noqa: E402
from evaluator.benchmark.tasks import Kind, get_task  # noqa: E402
from evaluator.benchmark.taxonomy import tag_item  # noqa: E402
from tests.scoring_text.test_demo_references import TEXT_KINDS, render_reference  # noqa: E402


def stored_rows() -> list[tuple[Item, str]]:
    rows = []
    for path in sorted((ROOT / "evaluator" / "benchmark" / "suites" / "demo").glob("*.jsonl")):
        if get_task(path.stem).kind not in TEXT_KINDS:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = Item(**json.loads(line))
                reference = render_reference(item)
                rows += [(item, reference), (item, reference[: len(reference) // 2]), (item, "患者" * 200)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows = stored_rows() * args.repeat
    rouge_seconds = 0.0
    original = rouge_module._SCORER.score

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal rouge_seconds
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            rouge_seconds += time.perf_counter() - start

    rouge_module._SCORER.score = timed  # measure only; the scorer itself is unchanged
    rouge_module.normalize.cache_clear()
    per_kind: dict[Kind, list[float]] = defaultdict(lambda: [0.0, 0])
    start = time.perf_counter()
    for item, output in rows:
        task = get_task(item.task)
        begin = time.perf_counter()
        outcome = get_metric(task.metric).score(task, item, output, None, None)
        tag_item(task, item, [outcome], [output])
        per_kind[task.kind][0] += time.perf_counter() - begin
        per_kind[task.kind][1] += 1
    total = time.perf_counter() - start
    print(f"rows scored and tagged: {len(rows)} in {total:.2f} s -> {len(rows) / total:,.0f} rows/s")
    for kind, (seconds, count) in sorted(per_kind.items()):
        rate, per_row = count / seconds, 1000 * seconds / count
        print(f"  {kind.value:<15} {count:6d} rows  {rate:10,.0f} rows/s  {per_row:.2f} ms/row")
    print(f"ROUGE-L share of time: {rouge_seconds / total:.0%}")


if __name__ == "__main__":
    main()
