"""The tagging outcome: first matching rule gives the primary tag and method, the others the secondary tags."""
from __future__ import annotations

import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import get_metric
from evaluator.benchmark.scoring.base import ItemOutcome
from evaluator.benchmark.tasks import get_task
from evaluator.benchmark.taxonomy import CATEGORIES, tag, tag_item
from tests.taxonomy.cases import CASE_REASONING, DDX, HYPERTENSION, RECORD, SINGLE, choice_case, text_case


def test_categories_are_the_papers_eight() -> None:
    assert len(CATEGORIES) == 8 and "Deficiency in Medical Language Generation" in CATEGORIES


def test_correct_rows_get_no_tag() -> None:
    assert tag(text_case(HYPERTENSION, "控制血压，低盐饮食，规律运动。")) == {
        "primary": None, "secondary": [], "method": "rule:correct", "rules": []}


def test_first_rule_wins_and_others_become_secondary() -> None:
    result = tag(text_case(CASE_REASONING, "该女性患者考虑肺栓塞。"))
    assert result["primary"] == "Contextual Inconsistency" and result["method"] == "rule:contradicts_case"
    assert "Causal Reasoning Deficiency" in result["secondary"] and "Omissions" in result["secondary"]
    assert "Contextual Inconsistency" not in result["secondary"]


def test_surface_error_outranks_content_rules() -> None:
    result = tag(text_case(HYPERTENSION, ""))
    assert result["primary"] == "Unanswered" and result["method"] == "rule:empty_output"


def test_multi_choice_profiles() -> None:
    assert tag(choice_case(DDX, ["A", "B"]))["primary"] == "Omissions"
    extra = tag(choice_case(DDX, ["A", "B", "C"]))
    assert extra["primary"] == "Hallucination" and extra["secondary"] == ["Omissions"]
    assert tag(choice_case(DDX, ["C", "D"]))["primary"] == "Causal Reasoning Deficiency"


def test_record_profiles() -> None:
    missing = tag(text_case(RECORD, "主诉：咳嗽3天伴发热"))
    assert missing["primary"] == "Deficiency in Medical Language Generation"
    prose = tag(text_case(RECORD, "患者咳嗽发热，考虑上感。"))
    assert prose["primary"] == "Format Mismatch"


def test_unscored_rows_get_surface_tags_only() -> None:
    item = HYPERTENSION.model_copy(update={"answer": None})
    assert tag(text_case(item, "应控制血压。"))["method"] == "rule:unscored"
    assert tag(text_case(item, ""))["primary"] == "Unanswered"


def test_fallback_for_a_wrong_row_no_rule_explains() -> None:
    task = get_task("MedHC")
    outcome = ItemOutcome(correct=False, score=0.5, details={})
    result = tag_item(task, HYPERTENSION, [outcome], ["控制血压，低盐饮食。"])[0]
    assert result == {"primary": "Omissions", "secondary": [], "method": "rule:fallback", "rules": []}


def test_tag_item_tags_every_order_and_sees_all_orders() -> None:
    task = get_task("Med-Exam")
    outcomes = [ItemOutcome(parsed_answer=a, correct=a == "A") for a in ["A", "B", "A", "A", "C"]]
    tags = tag_item(task, SINGLE, outcomes, [None] * 5)
    assert [t["primary"] for t in tags] == [None, "Contextual Inconsistency", None, None, "Contextual Inconsistency"]


def test_tag_item_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 outcomes but 1 raw outputs"):
        tag_item(get_task("Med-Exam"), SINGLE, [ItemOutcome(), ItemOutcome()], [None])


def test_stable_single_choice_error_is_a_wrong_pick() -> None:
    task = get_task("Med-Exam")
    tags = tag_item(task, SINGLE, [ItemOutcome(parsed_answer="B", correct=False)] * 2, [None, None])
    assert {t["method"] for t in tags} == {"rule:wrong_label"} and tags[0]["primary"] == "Hallucination"


def test_tags_follow_the_metric_when_rescored() -> None:
    """Re-scoring a stored output with the real metric and re-tagging it needs no model."""
    task = get_task("MedHC")
    item = Item(**{**HYPERTENSION.model_dump(), "answer_points": [["控制血压"]]})
    outcome = get_metric(task.metric).score(task, item, "应积极控制血压。", None, None)
    assert tag_item(task, item, [outcome], ["应积极控制血压。"])[0]["method"] == "rule:correct"


def test_choice_rows_scored_by_the_real_choice_metrics() -> None:
    """Tags of generated DDx answers and cloze orders as the core's choice metrics parse them."""
    ddx, metric = get_task("DDx-basic"), get_metric("exact_set_accuracy")
    order = list(DDX.options)
    outputs = ["答案：A、B、E", "答案：A、B", "答案：ABF", "考虑是呼吸道感染引起的症状，建议进一步检查"]
    outcomes = [metric.score(ddx, DDX, raw, None, order) for raw in outputs]
    tags = tag_item(ddx, DDX, outcomes, outputs)
    assert tags[0]["method"] == "rule:correct"
    assert tags[2]["primary"] == "Contextual Inconsistency"  # answers differ across this item's orders
    assert "rule:no_answer" == tags[3]["method"]  # no pick at all: Unanswered (issue 15), not Format Mismatch
    alone = tag_item(ddx, DDX, [outcomes[2]], [outputs[2]])[0]
    assert alone["method"] == "rule:extra_options"  # F is not among the letters shown
    assert tag_item(ddx, DDX, [outcomes[1]], [outputs[1]])[0]["method"] == "rule:too_few_options"

    medhg = get_task("MedHG")
    cloze = Item(id="hg1", task="MedHG", question="胸痛伴大汗，挂什么科？", answer=["心内科", "心血管内科"],
                 other={"candidates": ["心内科", "骨科", "皮肤科"]})
    cloze_metric = get_metric(medhg.metric)
    outputs = ["心内科", "骨科", "骨科和心内科"]
    outcomes = [cloze_metric.score(medhg, cloze, raw, None, None) for raw in outputs]
    tags = tag_item(medhg, cloze, outcomes, outputs)
    assert tags[0]["primary"] is None and tags[1]["primary"] == "Contextual Inconsistency"
    assert tags[2]["primary"] == "Format Mismatch"  # two departments for a single pick (issue 15)
    stable = tag_item(medhg, cloze, [outcomes[1]], [outputs[1]])[0]
    assert stable["method"] == "rule:wrong_label" and stable["primary"] == "Hallucination"
    missing = cloze_metric.score(medhg, cloze, "建议尽快就医", None, None)
    assert tag_item(medhg, cloze, [missing], ["建议尽快就医"])[0]["method"] == "rule:no_answer"
