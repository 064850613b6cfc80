"""The bundled demo suite against the text metrics: a reference answer written in the format each prompt asks
for scores full marks, and gets no error tag. Catches parser gaps and reference/answer-point drift."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import get_metric
from evaluator.benchmark.tasks import Kind, get_task
from evaluator.benchmark.taxonomy import tag_item

DEMO = Path(__file__).resolve().parents[2] / "evaluator" / "benchmark" / "suites" / "demo"
TEXT_KINDS = {Kind.OPEN_ENDED, Kind.RECORD, Kind.EXTRACTION, Kind.CLASSIFICATION}


def _items() -> list[Item]:
    items = []
    for path in sorted(DEMO.glob("*.jsonl")):
        if get_task(path.stem).kind in TEXT_KINDS:
            lines = path.read_text(encoding="utf-8").splitlines()
            items += [Item(**json.loads(line)) for line in lines if line.strip()]
    return items


def render_reference(item: Item) -> str:
    """The reference answer as a model following the task's instruction would write it."""
    task = get_task(item.task)
    kind = task.kind
    if kind == Kind.EXTRACTION:
        lines = [task.separator.join(str(entry.get(name) or "") for name in task.fields) for entry in item.answer]
        return "\n".join(lines) or "无"
    if kind == Kind.RECORD:
        return "\n".join(f"{name}：{text}" for name, text in item.answer.items())
    return str(item.answer)


ITEMS = _items()


def test_demo_has_every_generative_kind() -> None:
    assert {get_task(item.task).kind for item in ITEMS} == TEXT_KINDS


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.id)
def test_reference_scores_full_marks(item: Item) -> None:
    task = get_task(item.task)
    output = render_reference(item)
    outcome = get_metric(task.metric).score(task, item, output, None, None)
    assert outcome.correct is True and outcome.score == pytest.approx(1.0), outcome.details
    assert tag_item(task, item, [outcome], [output])[0]["primary"] is None
