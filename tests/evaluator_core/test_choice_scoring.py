"""The choice metrics on generated outputs (read by evaluator.benchmark.scoring.extract) and on letter scores."""
import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import get_metric
from evaluator.benchmark.tasks import get_task

LETTERS = list("ABCDE")
DDX = Item(id="d1", task="DDx-basic", question="q", options=dict(zip(LETTERS, ["哮喘", "肺炎", "胃炎", "心衰", "贫血"])),
           answer=["B", "D"])


@pytest.mark.parametrize("text,expected,rule", [
    ("答案：B、D", ["B", "D"], "leading"),
    ("BD", ["B", "D"], "leading"),
    ("根据DDx思路分析……\n答案是B和D", ["B", "D"], "answer_marker"),
    ("应考虑肺炎和心衰", ["B", "D"], "answer_marker"),
    ("", None, "empty"),
])
def test_multi_choice_reads_generated_answers(text, expected, rule):
    outcome = get_metric("exact_set_accuracy").score(get_task("DDx-basic"), DDX, text, None, None)
    assert outcome.parsed_answer == expected and outcome.details["rule"] == rule
    assert outcome.details["extraction"] == ("answer" if expected else "empty")


def test_letters_outside_the_shown_options_are_reported_and_never_an_answer():
    single = Item(id="s1", task="Med-Exam", question="q", options=dict(zip(LETTERS, "甲乙丙丁戊")), answer=["A"])
    outcome = get_metric("accuracy").score(get_task("Med-Exam"), single, "答案：G", None, None)
    assert outcome.parsed_answer is None and outcome.details["invalid_letters"] == ["G"]
    assert outcome.details["extraction"] == "no_answer" and outcome.correct is False


def test_exact_set_maps_back_through_the_permutation():
    item = Item(id="d1", task="DDx-basic", question="q", options=dict(zip(LETTERS, "甲乙丙丁戊")), answer=["A", "C"])
    metric = get_metric("exact_set_accuracy")
    perm = ["C", "D", "A", "B", "E"]  # original A is shown as C, original C as A
    outcome = metric.score(get_task("DDx-basic"), item, "答案：C、A", None, perm)
    assert outcome.parsed_answer == ["A", "C"] and outcome.correct is True
    partial = metric.score(get_task("DDx-basic"), item, "答案：A", None, perm)
    assert partial.correct is False and partial.details["jaccard"] == 0.5


def test_generated_single_choice_with_several_letters_is_wrong_not_the_first_letter():
    """The old parser kept the first of several letters ("A或B" counted as A); a hedge is no answer."""
    item = Item(id="s1", task="Med-Exam", question="q", options=dict(zip(LETTERS, "甲乙丙丁戊")), answer=["A"])
    outcome = get_metric("accuracy").score(get_task("Med-Exam"), item, "答案：A或B", None, None)
    assert outcome.correct is False and outcome.parsed_answer is None
    assert outcome.details["extraction"] == "several_answers"
    shuffled = get_metric("accuracy").score(get_task("Med-Exam"), item, "<think>A还是B？</think>\n**B**", None,
                                            ["B", "A", "C", "D", "E"])
    assert shuffled.parsed_answer == ["A"] and shuffled.correct is True


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
    hedge = metric.score(task, item, "心内科或骨科", None, None)
    assert hedge.correct is False and hedge.details["extraction"] == "several_answers"
    assert metric.score(task, item, "不知道", None, None).details["extraction"] == "refusal"
