"""The project JSONL loader and the per-kind checks: good files load, every bad row is reported as file:line."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from evaluator.benchmark.suites.reader import read_suite
from tests.suites.conftest import item


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in read_suite(path).problems]


def test_a_good_file_with_every_kind_loads(jsonl: Callable[..., Path]) -> None:
    rows = [
        item("exam-1"),
        item("drug-1", "DrugCA", options={"A": "是", "B": "否"}, answer=["A"]),
        item("ddx-1", "DDx-advanced", options={l: f"诊断{l}" for l in "ABCDEFGHI"}, answer=["A", "I"]),
        item("hg-1", "MedHG", options={}, answer=["心内科", "心血管内科"], other={"candidates": ["心内科", "骨科"]}),
        item("ctc-1", "CHIP-CTC", options={}, answer="年龄", other={"candidates": ["年龄", "疾病"]}),
        item("ee-1", "CMeEE", options={}, answer=[{"entity": "糖尿病", "type": "疾病"}]),
        item("cdee-1", "CHIP-CDEE", options={},
             answer=[{"core_name": "咳嗽", "tendency": "", "character": "阵发性", "anatomy": ""}]),
        item("mrg-1", "IMCS-V2-MRG", options={}, answer={"主诉": "咳嗽3天", "诊断": "上呼吸道感染"},
             answer_points=[["咳嗽"], ["上呼吸道感染", "上感"]]),
        item("hc-1", "MedHC", options={}, answer="多饮水，注意休息。", answer_points=[["多饮水", "补液"]]),
        item("hc-2", "MedHC", options={}, answer=None),
    ]
    loaded = read_suite(jsonl("suite.jsonl", rows))
    assert [str(p) for p in loaded.problems] == []
    assert [i.id for i in loaded.plain_items] == [r["id"] for r in rows]
    assert loaded.formats == {"suite.jsonl": "jsonl"}
    assert [i.scored for i in loaded.plain_items].count(False) == 1


BAD_ROWS: dict[str, tuple[Any, str]] = {
    "bad JSON": ('{"id": "x", "task": ', "bad JSON: Expecting value"),
    "not an object": ("[1, 2]", "expected a JSON object, got list"),
    "missing field": ({"id": "x", "task": "Med-Exam", "options": {"A": "甲", "B": "乙"}, "answer": ["A"]},
                      "missing field 'question'"),
    "unknown field": (item("x", colour="red"), "unknown field 'colour'"),
    "answer letter not among options": (item("x", answer=["F"]), "answer letter F not among options A, B, C"),
    "empty options": (item("x", options={}), "empty options"),
    "unknown task": (item("x", task="Med-Quiz"), "unknown task 'Med-Quiz'"),
    "two answers for single choice": (item("x", answer=["A", "B"]), "has exactly one answer letter"),
    "answer not a list": (item("x", answer="B"), "answer must be a list of option letters"),
    "option letters with a gap": (item("x", options={"A": "甲", "C": "丙"}, answer=["A"]), "must run A, B, C"),
    "blank option text": (item("x", options={"A": "甲", "B": " "}, answer=["A"]), "empty option text for B"),
    "yes/no with three options": (item("x", task="DrugCA"), "exactly 2 options"),
    "options on an open-ended task": (item("x", task="MedHC", answer="文本"), "options are only for choice tasks"),
    "cloze answer not a list": (item("x", task="MedHG", options={}, answer="心内科"), "non-empty list"),
    "cloze answer not among candidates": (
        item("x", task="MedHG", options={}, answer=["眼科"], other={"candidates": ["心内科"]}), "among other.candidates"),
    "classification label unknown": (
        item("x", task="CHIP-CTC", options={}, answer="星座", other={"candidates": ["年龄"]}), "not among other.candidates"),
    "extraction record with wrong fields": (
        item("x", task="CMeIE", options={}, answer=[{"subject": "a", "object": "b"}]), "exactly the fields"),
    "extraction unknown entity type": (
        item("x", task="CMeEE", options={}, answer=[{"entity": "a", "type": "星座"}]), "unknown type '星座'"),
    "record with an unknown field": (
        item("x", task="DBMHG", options={}, answer={"主诉": "a", "体重": "b"}), "unknown record field '体重'"),
    "open-ended answer not text": (item("x", task="MedTreat", options={}, answer=["a"]), "reference text"),
    "empty answer point": (item("x", task="MedTreat", options={}, answer="a", answer_points=[[]]), "answer point 1"),
}


@pytest.mark.parametrize("kind", BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_with_its_line(kind: str, jsonl: Callable[..., Path]) -> None:
    row, reason = BAD_ROWS[kind]
    path = jsonl("suite.jsonl", [item("good-1"), row, item("good-2")])
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("suite.jsonl:2: ")
    assert reason in problems[0]


def test_duplicate_ids_point_at_both_places(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    jsonl("a/first.jsonl", [item("same"), item("other")])
    jsonl("a/second.jsonl", [item("same", task="MedSafety")])
    assert problems_of(tmp_path / "a") == ["second.jsonl:1: duplicate id 'same' (first at first.jsonl:1)"]


def test_every_problem_of_every_file_is_listed(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    jsonl("s/one.jsonl", ["{broken", item("x", answer=["Z"])])
    jsonl("s/two.jsonl", [item("y", task="Nope"), item("z", options={})])
    problems = problems_of(tmp_path / "s")
    assert [p.split(": ")[0] for p in problems] == ["one.jsonl:1", "one.jsonl:2", "two.jsonl:1", "two.jsonl:2"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.jsonl"
    path.write_bytes('{"id": "x", "task": "Med-Exam", "question": "高血压"}'.encode("gbk"))
    assert problems_of(path) == ["gbk.jsonl: not UTF-8 text (byte 45): save the file as UTF-8"]


def test_missing_path_and_empty_folder_are_problems(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: no such file or folder"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("notes")
    loaded = read_suite(tmp_path / "empty")
    assert [str(p) for p in loaded.problems] == [f"{tmp_path / 'empty'}: no suite files found (.jsonl, .json or .csv)"]
    assert loaded.skipped == ["README.md"]
