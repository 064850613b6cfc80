"""Answer extraction and the choice metrics, on outputs seen from real models."""
import pytest

from evaluator.items import Item
from evaluator.scoring import get_metric
from evaluator.scoring.choice import extract_letters
from evaluator.tasks import get_task

LETTERS = list("ABCDE")


@pytest.mark.parametrize("text,expected,rule", [
    ("答案：A、C", ["A", "C"], "answer_line:letters_only"),
    ("AC", ["A", "C"], "whole_output:letters_only"),
    ("A, C, A", ["A", "C"], "whole_output:letters_only"),
    ("根据DDx思路分析……\n答案是B和D", ["B", "D"], "answer_line:letters_only"),
    ("考虑 A 与 E 的可能\n其余不考虑", ["A", "E"], "whole_output:standalone_letters"),
    ("应考虑肺炎和心衰", ["B", "D"], "whole_output:option_text"),
    ("", [], "empty"),
])
def test_extract_letters(text, expected, rule):
    letters, details = extract_letters(text, LETTERS, ["哮喘", "肺炎", "胃炎", "心衰", "贫血"])
    assert letters == expected
    assert details["rule"] == rule


def test_letters_outside_the_shown_options_are_reported_not_kept():
    letters, details = extract_letters("答案：A、G", LETTERS)
    assert letters == ["A"] and details["invalid_letters"] == ["G"]


def test_exact_set_maps_back_through_the_permutation():
    item = Item(id="d1", task="DDx-basic", question="q", options=dict(zip(LETTERS, "甲乙丙丁戊")), answer=["A", "C"])
    metric = get_metric("exact_set_accuracy")
    perm = ["C", "D", "A", "B", "E"]  # original A is shown as C, original C as A
    outcome = metric.score(get_task("DDx-basic"), item, "答案：C、A", None, perm)
    assert outcome.parsed_answer == ["A", "C"] and outcome.correct is True
    partial = metric.score(get_task("DDx-basic"), item, "答案：A", None, perm)
    assert partial.correct is False and partial.details["jaccard"] == 0.5


def test_accuracy_from_letter_scores_and_unscored_items():
    item = Item(id="s1", task="Med-Exam", question="q", options=dict(zip(LETTERS, "甲乙丙丁戊")), answer=["B"])
    metric = get_metric("accuracy")
    scores = {"A": -3.0, "B": -0.5, "C": -2.0, "D": -4.0, "E": -5.0}
    out = metric.score(get_task("Med-Exam"), item, None, scores, ["E", "D", "C", "A", "B"])
    assert out.parsed_answer == ["D"] and out.correct is False
    assert out.details["chosen_shown"] == ["B"] and out.details["correct_shown"] == ["E"]
    unscored = metric.score(get_task("Med-Exam"), item.model_copy(update={"answer": None}), None, scores, None)
    assert unscored.correct is None and unscored.score is None and unscored.parsed_answer == ["B"]
    failed = metric.score(get_task("Med-Exam"), item, None, None, None)
    assert failed.correct is False and failed.parsed_answer is None


def test_cloze_hedging_is_wrong_and_synonyms_are_right():
    item = Item(id="h1", task="MedHG", question="q", answer=["心内科", "心血管内科"],
                other={"candidates": ["心内科", "内科", "骨科"]})
    metric = get_metric("cloze_accuracy")
    task = get_task("MedHG")
    assert metric.score(task, item, "心血管内科", None, None).correct is True
    assert metric.score(task, item, "建议就诊心内科。", None, None).correct is True
    assert metric.score(task, item, "心内科或骨科", None, None).correct is False
    assert metric.score(task, item, "不知道", None, None).correct is False
