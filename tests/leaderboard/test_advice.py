"""The four-level advice fires exactly at the paper's thresholds and states the figure that triggered it."""
from __future__ import annotations

from leaderboard.advice import advise


def rows(knowledge=None, generation=None, reasoning=None,  # type: ignore[no-untyped-def]
         robustness=None, overall=None):
    robustness = robustness or {}
    return [
        {"dimension": "knowledge", "error_counts": knowledge or {}, "robustness": robustness.get("knowledge")},
        {"dimension": "understanding", "error_counts": {}, "robustness": None},
        {"dimension": "generation", "error_counts": generation or {}, "robustness": None},
        {"dimension": "reasoning", "error_counts": reasoning or {}, "robustness": robustness.get("reasoning")},
        {"dimension": "safety", "error_counts": {}, "robustness": robustness.get("safety", float("nan"))},
        {"dimension": "overall", "error_counts": overall or {}, "robustness": None},
    ]


def test_no_errors_no_advice():
    assert advise(rows()) == []


def test_knowledge_omissions_above_40_percent_point_to_levels_1_and_2():
    assert advise(rows(knowledge={"Omissions": 4, "Hallucination": 6})) == []  # exactly 40%: not above
    (found,) = advise(rows(knowledge={"Omissions": 41, "Hallucination": 59}))
    assert found.levels == (1, 2)
    assert found.figure == "41.0% of knowledge-QA errors are omissions (41 of 100)"


def test_generation_hallucinations_above_60_percent_point_to_retrieval():
    assert advise(rows(generation={"Hallucination": 6, "Omissions": 4})) == []
    (found,) = advise(rows(generation={"Hallucination": 64, "Omissions": 36}))
    assert found.levels == (2,) and "retrieval-augmented verification" in found.action
    assert "64.0%" in found.figure


def test_low_consistency_names_every_dimension_below_0_85():
    assert advise(rows(robustness={"knowledge": 0.85, "reasoning": 0.9})) == []
    (found,) = advise(rows(robustness={"knowledge": 0.84, "safety": 0.79, "reasoning": 0.99}))
    assert found.figure == "consistency over the option orders: knowledge 0.840, safety 0.790"


def test_format_mismatch_uses_all_errors():
    assert advise(rows(overall={"Format Mismatch": 1, "Omissions": 9})) == []
    (found,) = advise(rows(overall={"Format Mismatch": 11, "Omissions": 89}))
    assert found.levels == (1,) and "11.0% of all errors" in found.figure


def test_reasoning_omissions_above_half_point_to_level_3():
    (found,) = advise(rows(reasoning={"Omissions": 963, "Causal Reasoning Deficiency": 37}))
    assert found.levels == (3,) and "96.3%" in found.figure
