"""Judge prompts, verdicts, and how a judge's category takes precedence over the string-matching rules."""
from __future__ import annotations

from evaluator.engine.judge import CATEGORY_LETTERS, category_prompt, point_prompt, verdict
from evaluator.benchmark.taxonomy import CATEGORIES, tag
from tests.taxonomy.cases import CASE_REASONING, HYPERTENSION, text_case


def test_point_prompt_names_the_point_its_synonyms_and_the_case() -> None:
    message = point_prompt(CASE_REASONING, "考虑心梗。", ["急性心肌梗死", "心梗"])
    assert "要点：急性心肌梗死（同义表述：心梗）" in message and "回答：考虑心梗。" in message
    assert CASE_REASONING.passage in message and message.endswith("B. 否，没有涵盖该要点")
    assert "回答：（空）" in point_prompt(HYPERTENSION, "  ", ["限盐"])
    assert "同义表述" not in point_prompt(HYPERTENSION, "x", ["限盐"])


def test_category_prompt_lists_the_eight_categories_in_letter_order() -> None:
    message = category_prompt(HYPERTENSION, "多喝水。")
    assert all(f"{letter}. " in message for letter in CATEGORY_LETTERS) and len(CATEGORY_LETTERS) == 8
    assert message.index("A. 遗漏") < message.index("H. 医学文本生成缺陷") and HYPERTENSION.answer in message


def test_verdict_is_the_most_likely_letter_and_ties_go_first() -> None:
    assert verdict({"A": -2.0, "B": -0.5}, ["A", "B"]) == "B"
    assert verdict({"A": -1.0, "B": -1.0}, ["A", "B"]) == "A"
    assert verdict({"B": -1.0}, ["A", "B"]) == "B"


def test_judge_category_replaces_a_hard_case_tag_and_keeps_the_rule() -> None:
    case = text_case(HYPERTENSION, "应积极控制血压。")
    case.outcome.details["judge"] = {"model": "tiny", "primary": "Hallucination", "recall": 0.3}
    result = tag(case)
    assert result["primary"] == "Hallucination" and result["method"] == "judge:tiny"
    assert result["rule"] == {"primary": "Omissions", "secondary": [], "method": "rule:uncovered_points"}
    assert result["secondary"] == ["Omissions"]


def test_judge_does_not_override_certain_rules() -> None:
    case = text_case(HYPERTENSION, "")
    case.outcome.details["judge"] = {"model": "tiny", "primary": "Hallucination"}
    assert tag(case)["method"] == "rule:empty_output"
    unknown = text_case(HYPERTENSION, "应积极控制血压。")
    unknown.outcome.details["judge"] = {"model": "tiny", "primary": "Not a category"}
    assert tag(unknown)["method"] == "rule:uncovered_points" and "Not a category" not in CATEGORIES
