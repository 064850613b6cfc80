"""Re-scoring the stored demo-run rows gives exactly the task and dimension scores stored when they were pinned
(tests/evaluator_core/rescore_fixture.py builds both files). Why: refactors of the definition (tasks, metrics,
parsers, taxonomy) must leave every stored number unchanged; a scoring change that is meant must re-pin and say so."""
from __future__ import annotations

import json

import pytest

from tests.evaluator_core.rescore_fixture import ROWS_FILE, SCORES_FILE, rescore


STORED = json.loads(ROWS_FILE.read_text(encoding="utf-8"))
RUNS = STORED["runs"]
EXPECTED = json.loads(SCORES_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_rescoring_the_demo_runs_keeps_every_number(engine, name: str) -> None:  # type: ignore[no-untyped-def]
    got = rescore(engine, RUNS[name], STORED["spec"])
    assert set(got["tasks"]) == set(EXPECTED[name]["tasks"])
    for task, scores in EXPECTED[name]["tasks"].items():
        assert got["tasks"][task] == scores, task
    assert got["dimensions"] == EXPECTED[name]["dimensions"]


def test_the_pin_counts_something() -> None:
    """The oracle run scores well above the tiny models, so the pin covers correct answers as well as wrong ones."""
    overall = {name: scores["dimensions"]["overall"]["score"] for name, scores in EXPECTED.items()}
    assert overall["oracle"] > 0.5 > max(v for k, v in overall.items() if k != "oracle")
