"""CSV in the C-Eval / CMMLU shape, mapped to a task chosen at import."""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.benchmark.suites.reader import read_suite
from tests.suites.conftest import write_lines

CEVAL = ["id,question,A,B,C,D,answer,explanation",
         '0,高血压的诊断界值是,≥130/80,≥140/90,≥150/90,≥160/100,B,"2018指南，\n诊室血压"',
         "1,首选的降压药是,利尿剂,ACEI,ARB,钙拮抗剂,D,"]
CMMLU = [",Question,A,B,C,D,Answer", "0,下列哪项正确？,甲,乙,丙,丁,C", "1,下列哪项错误？,甲,乙,丙,丁,A"]


def test_a_ceval_file_loads_as_the_chosen_task(tmp_path: Path) -> None:
    loaded = read_suite(write_lines(tmp_path / "clinical_medicine_val.csv", CEVAL), task="Med-Exam")
    assert loaded.problems == []
    first, second = loaded.plain_items
    assert (first.id, first.task, first.answer) == ("clinical_medicine_val-0", "Med-Exam", ["B"])
    assert first.options == {"A": "≥130/80", "B": "≥140/90", "C": "≥150/90", "D": "≥160/100"}
    assert first.other == {"explanation": "2018指南，\n诊室血压"}
    assert (second.other, [l.line for l in loaded.items]) == ({}, [2, 4])  # a quoted newline spans two lines


def test_a_cmmlu_file_with_an_unnamed_id_column_and_a_task_file_name(tmp_path: Path) -> None:
    loaded = read_suite(write_lines(tmp_path / "MedSafety.csv", CMMLU))
    assert loaded.problems == []
    assert [(i.id, i.task, i.answer) for i in loaded.plain_items] == [("MedSafety-0", "MedSafety", ["C"]),
                                                                       ("MedSafety-1", "MedSafety", ["A"])]


def test_five_options_and_blank_answers_load_unscored(tmp_path: Path) -> None:
    rows = ["id,Question,A,B,C,D,E,Answer", "1,问题一,甲,乙,丙,丁,戊,E", "2,问题二,甲,乙,丙,丁,,"]
    first, second = read_suite(write_lines(tmp_path / "exam.csv", rows), task="Med-Exam").plain_items
    assert (list(first.options), first.answer) == (list("ABCDE"), ["E"])
    assert (list(second.options), second.scored) == (list("ABCD"), False)


BAD = {
    "answer letter not among options": ("9,问题,甲,乙,丙,丁,F", "answer letter F not among options A, B, C, D"),
    "answer not letters": ("9,问题,甲,乙,丙,丁,乙", "answer '乙' is not option letters"),
    "missing cell": ("9,问题,甲,乙,丙,B", "row has 6 cells, the header has 7"),
    "empty question": ("9,,甲,乙,丙,丁,A", "field 'question'"),
    "blank option in the middle": ("9,问题,甲,,丙,丁,A", "empty option text for B"),
    "empty options": ("9,问题,,,,,A", "empty options"),
    "duplicate id": ("0,问题,甲,乙,丙,丁,A", "duplicate id 'exam-0' (first at exam.csv:2)"),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_kind_of_bad_row_is_reported_with_its_line(kind: str, tmp_path: Path) -> None:
    line, reason = BAD[kind]
    path = write_lines(tmp_path / "exam.csv", ["id,Question,A,B,C,D,Answer", "0,好问题,甲,乙,丙,丁,A", line])
    problems = [str(p) for p in read_suite(path, task="Med-Exam").problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith("exam.csv:3: ") and reason in problems[0]


@pytest.mark.parametrize("task, reason", [
    (None, "exam.csv: a CSV file carries no task: choose one with --task"),
    ("Med-Quiz", "exam.csv: unknown task 'Med-Quiz'"),
    ("MedHC", "exam.csv: CSV rows are choice questions, but task MedHC is open_ended"),
])
def test_the_task_must_be_a_known_choice_task(tmp_path: Path, task: str | None, reason: str) -> None:
    path = write_lines(tmp_path / "exam.csv", CMMLU)
    (problem,) = read_suite(path, task=task).problems
    assert str(problem).startswith(reason)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "exam.csv", ["id,Question,A,B,C,D", "0,问题,甲,乙,丙,丁"])
    assert [str(p) for p in read_suite(path, task="Med-Exam").problems] == [
        "exam.csv:1: missing column(s) answer; expected id,Question,A,B,C,D,Answer"]
