"""Robustness figures and bootstrap intervals on hand-made outcomes with known answers."""
import numpy as np
import pytest

from evaluator.benchmark.scoring import ItemOutcome
from evaluator.benchmark.scoring.aggregate import (TaskFigures, answered_every_order, bootstrap_scores, choice_extras,
                                         position_bias, robustness, strict_accuracy)


def row(answer, correct, chosen, right):
    return ItemOutcome(answer, correct, float(correct), {"chosen_shown": chosen, "correct_shown": right})


def test_known_figures():
    groups = [
        [row(["A"], True, ["A"], ["A"]), row(["A"], True, ["C"], ["C"])],  # right and consistent
        [row(["B"], False, ["A"], ["C"]), row(["C"], True, ["A"], ["A"])],  # answer follows the position
        [row(["D"], False, ["B"], ["A"]), row(["D"], False, ["B"], ["A"])],  # consistently wrong
    ]
    extras = choice_extras(groups)
    assert extras["accuracy"] == pytest.approx(3 / 6)
    assert extras["strict_accuracy"] == pytest.approx(1 / 3)
    assert extras["robustness"] == pytest.approx(2 / 3)
    bias = position_bias(groups)
    assert bias["A"] == {"chosen": pytest.approx(3 / 6), "correct": pytest.approx(4 / 6)}
    assert bias["B"]["chosen"] == pytest.approx(2 / 6) and bias["C"]["correct"] == pytest.approx(2 / 6)


def test_failed_rows_count_as_different_answers_and_unscored_items_as_robust_only():
    failed = ItemOutcome(None, False, 0.0, {})
    assert robustness([[row(["A"], True, ["A"], ["A"]), failed]]) == 0.0
    unscored = [[ItemOutcome(["A"], None, None, {}), ItemOutcome(["A"], None, None, {})]]
    assert robustness(unscored) == 1.0 and strict_accuracy(unscored) is None


def test_an_item_unreadable_under_any_order_is_never_robust():
    """Spec section 3: consistency counts only items answered under every order; 'no answer' five times (a model
    that writes garbage, refuses or never closes its reasoning) is not a consistent answer."""
    none = ItemOutcome(None, False, 0.0, {"extraction": "no_answer"})
    groups = [
        [none, none],  # consistently unanswered: not robust (the old rule counted it robust)
        [row(["B"], False, ["B"], ["A"]), row(["B"], False, ["A"], ["B"])],  # consistently wrong: robust
        [row(["A"], True, ["A"], ["A"]), none],  # answered once only: not robust
    ]
    assert robustness(groups) == pytest.approx(1 / 3)
    assert answered_every_order(groups) == pytest.approx(1 / 3)
    assert choice_extras(groups)["answered_every_order"] == pytest.approx(1 / 3)


def test_bootstrap_is_seeded_and_brackets_the_point():
    rng = np.random.default_rng(0)
    groups = [[ItemOutcome(None, bool(v), float(v))] for v in rng.integers(0, 2, 200)]
    mean = lambda gs: float(np.mean([o.score for g in gs for o in g]))  # noqa: E731
    tasks = [TaskFigures("Med-Exam", "knowledge", groups, mean, mean_of_scores=True),
             TaskFigures("MedSafety", "safety", groups[:50], mean, mean_of_scores=False)]
    t1, d1, o1 = bootstrap_scores(tasks, seed=3)
    t2, d2, o2 = bootstrap_scores(tasks, seed=3)
    assert t1 == t2 and o1 == o2
    for interval in [*t1.values(), *d1.values(), o1]:
        assert interval.ci_low < interval.score < interval.ci_high
    assert o1.score == pytest.approx((t1["Med-Exam"].score + t1["MedSafety"].score) / 2)
    assert t1["Med-Exam"].ci_high - t1["Med-Exam"].ci_low < t1["MedSafety"].ci_high - t1["MedSafety"].ci_low
