"""Chance levels and pass lines (evaluator.benchmark.reference_lines) from known option counts, on a real database."""
from __future__ import annotations

import pytest

from common.db import session_scope
from evaluator.benchmark.reference_lines import chance_level, default_k, suite_reference_lines
from leaderboard.labels import reference_help
from evaluator.tables import Suite, SuiteItem, SuiteTask
from evaluator.benchmark.tasks import TASKS


def test_chance_of_single_choice_is_the_mean_of_one_over_n_per_order() -> None:
    chance, strict = chance_level("single_choice", [5, 4], k=5)  # 5 orders each (4! = 24 >= 5)
    assert chance == pytest.approx((0.2 + 0.25) / 2)
    assert strict == pytest.approx((0.2 ** 5 + 0.25 ** 5) / 2)  # right under all five orders, guessed afresh
    # 3 options allow 3! = 6 orders, 2 options only 2: a 2-option item weighs 2 pairs against 5
    assert chance_level("single_choice", [2, 5], k=5)[0] == pytest.approx((2 * 0.5 + 5 * 0.2) / 7)


def test_chance_of_yes_no_multi_choice_and_kinds_without_one() -> None:
    assert chance_level("yes_no", [2, 2, 2], k=5) == pytest.approx((0.5, 0.25))  # both orders only
    chance, strict = chance_level("multi_choice", [5, 9], k=5)
    assert chance == pytest.approx((1 / 31 + 1 / 511) / 2)
    assert strict == pytest.approx(((1 / 31) ** 5 + (1 / 511) ** 5) / 2)
    for kind in ("cloze", "open_ended", "extraction", "classification", "record"):
        assert chance_level(kind, [5], k=5) == (None, None)
    assert chance_level("single_choice", [], k=5) == (None, None)


def test_med_exam_has_the_licensing_exam_pass_line_and_other_tasks_none() -> None:
    assert TASKS["Med-Exam"].pass_line == pytest.approx(0.6)
    assert "360/600" in TASKS["Med-Exam"].pass_line_source
    assert [name for name, spec in TASKS.items() if spec.pass_line is not None] == ["Med-Exam"]


def _suite(engine) -> int:  # type: ignore[no-untyped-def]
    items = [("Med-Exam", {"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"}, ["A"]),
             ("Med-Exam", {"A": "a", "B": "b", "C": "c", "D": "d"}, ["B"]),
             ("Med-Exam", {"A": "a", "B": "b", "C": "c"}, None),  # unscored: counts in no score, nor in chance
             ("DrugCA", {"A": "是", "B": "否"}, ["A"]),
             ("DDx-basic", {k: k for k in "ABCDE"}, ["A", "C"]),
             ("MedHG", {}, ["心内科"])]
    with session_scope(engine) as session:
        suite = Suite(name="chance", version="chance-1", item_count=len(items))
        session.add(suite)
        session.flush()
        for task in sorted({t for t, _, _ in items}):
            spec = TASKS[task]
            session.add(SuiteTask(suite_id=suite.id, name=task, dimension=spec.dimension, kind=spec.kind,
                                  metric=spec.metric))
        for index, (task, options, answer) in enumerate(items):
            session.add(SuiteItem(suite_id=suite.id, task=task, item_key=f"i{index}",
                                  data={"id": f"i{index}", "task": task, "question": "q", "options": options,
                                        "answer": answer}))
        return suite.id


def test_suite_reference_lines_from_the_items_option_counts(engine) -> None:  # type: ignore[no-untyped-def]
    suite_id = _suite(engine)
    with session_scope(engine) as session:
        lines = suite_reference_lines(session, suite_id, default_k())
    assert default_k() == 5 and list(lines) == ["Med-Exam", "MedHG", "DDx-basic", "DrugCA"]  # registry order
    assert lines["Med-Exam"].chance == pytest.approx((0.2 + 0.25) / 2) and lines["Med-Exam"].pass_line == 0.6
    assert lines["DrugCA"].chance == 0.5 and lines["DDx-basic"].chance == pytest.approx(1 / 31)
    assert lines["MedHG"].chance is None and lines["MedHG"].pass_line is None
    exam = reference_help(lines["Med-Exam"], "en")  # the column help, in each language
    assert "pass line 0.600" in exam and "chance (random guess) 0.225" in exam
    assert reference_help(lines["MedHG"], "en") == "MedHG: no chance level (not a pick from listed options); no defined pass line."
    assert reference_help(lines["MedHG"], "zh") == "MedHG：无随机水平（不是从所列选项中选择）；无规定的及格线。"
    assert "随机水平（随机猜测）0.225" in reference_help(lines["Med-Exam"], "zh")
