"""The MedBench / OpenCompass layout: <Task>/<Task>.jsonl with passage, question, options, label, answer, other."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from evaluator.benchmark.suites.formats.medbench import strip_instruction
from evaluator.benchmark.suites.reader import read_suite


def row(question: str, answer: Any = None, **fields: Any) -> dict[str, Any]:
    return {"passage": None, "question": question, "options": [], "label": None, "answer": answer, "other": {},
            **fields}


EXAM = "请回答以下单选题。要求只输出选项，不输出解释。\n问题：高血压的诊断界值是\nA. ≥130/80\nB. ≥140/90\nC. ≥160/100\n答案："


def test_baked_in_options_are_parsed_and_the_instruction_set_aside(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    jsonl("medbench/Med-Exam/Med-Exam.jsonl", [row(EXAM, "B", other={"source": "内科学"})])
    loaded = read_suite(tmp_path / "medbench")
    assert loaded.problems == []
    assert loaded.formats == {"Med-Exam/Med-Exam.jsonl": "medbench"}
    (item,) = loaded.plain_items
    assert item.id == "Med-Exam-1"
    assert item.task == "Med-Exam"
    assert item.question == "高血压的诊断界值是"
    assert item.options == {"A": "≥130/80", "B": "≥140/90", "C": "≥160/100"}
    assert item.answer == ["B"]
    assert item.other == {"source": "内科学", "medbench_instruction": "请回答以下单选题。\n要求只输出选项，不输出解释。",
                          "medbench_tail": "答案："}


def test_options_given_as_an_agieval_list_and_a_label(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    path = jsonl("Med-Exam.jsonl", [row("下列哪项正确？", None, options=["(A) 甲", "(B) 乙"], label="A")])
    (item,) = read_suite(path).plain_items
    assert (item.question, item.options, item.answer) == ("下列哪项正确？", {"A": "甲", "B": "乙"}, ["A"])


def test_multi_choice_letters_and_trailing_instruction(jsonl: Callable[..., Path]) -> None:
    question = "患者男，60岁，胸痛2小时。可能的诊断有哪些？结果以选项展示即可，无需给出理由。\nA：急性心肌梗死\nB：主动脉夹层\nC：气胸\nD：胃炎\nE：带状疱疹"
    (item,) = read_suite(jsonl("DDx-basic.jsonl", [row(question, "A,B,C")])).plain_items
    assert item.question == "患者男，60岁，胸痛2小时。可能的诊断有哪些？"
    assert item.options["E"] == "带状疱疹"
    assert item.answer == ["A", "B", "C"]
    assert item.other["medbench_instruction"] == "结果以选项展示即可，无需给出理由。"


def test_yes_no_without_options_gets_yes_no_and_text_answers_map_to_letters(jsonl: Callable[..., Path]) -> None:
    path = jsonl("DrugCA.jsonl", [row("孕妇使用依那普利是否存在禁忌？", "是"), row("成人使用对乙酰氨基酚是否存在禁忌？", "否")])
    items = read_suite(path).plain_items
    assert [(i.options, i.answer) for i in items] == [({"A": "是", "B": "否"}, ["A"]), ({"A": "是", "B": "否"}, ["B"])]


def test_answer_null_loads_unscored(jsonl: Callable[..., Path]) -> None:
    loaded = read_suite(jsonl("MedHC.jsonl", [row("感冒了怎么办？", None), row("发热怎么办？", "多饮水。")]))
    assert loaded.problems == []
    assert [i.scored for i in loaded.plain_items] == [False, True]
    assert loaded.plain_items[0].question == "感冒了怎么办？"  # non-choice questions stay verbatim


def test_other_kinds_are_mapped_to_the_project_answer_shapes(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    jsonl("mb/MedHG/MedHG.jsonl", [row("胸痛应去哪个科室？", "心内科", options=["心内科", "骨科"])])
    jsonl("mb/DBMHG/DBMHG.jsonl", [row("医生：哪里不舒服？患者：咳嗽三天。", "主诉：咳嗽3天\n现病史：3天前受凉后咳嗽")])
    jsonl("mb/CHIP-CDN/CHIP-CDN.jsonl", [row("2型糖尿病伴肾病", [{"entity": "2型糖尿病", "type": "normalization"}])])
    jsonl("mb/CHIP-CDEE/CHIP-CDEE.jsonl", [
        row("患者无发热，偶有阵发性咳嗽。", [{"主体词": "咳嗽", "发生状态": "", "描述词": ["阵发性"], "解剖部位": []}])])
    jsonl("mb/MedSpeQA/MedSpeQA.jsonl", [row("青光眼如何治疗？", "降眼压。", answer_points=["降眼压", ["手术", "小梁切除术"]])])
    loaded = read_suite(tmp_path / "mb")
    assert loaded.problems == []
    by_task = {i.task: i for i in loaded.plain_items}
    assert by_task["MedHG"].answer == ["心内科"] and by_task["MedHG"].other["candidates"] == ["心内科", "骨科"]
    assert by_task["DBMHG"].answer == {"主诉": "咳嗽3天", "现病史": "3天前受凉后咳嗽"}
    assert by_task["CHIP-CDN"].answer == [{"normalized": "2型糖尿病"}]
    assert by_task["CHIP-CDEE"].answer == [{"core_name": "咳嗽", "tendency": "", "character": "阵发性", "anatomy": ""}]
    assert by_task["MedSpeQA"].answer_points == [["降眼压"], ["手术", "小梁切除术"]]


def test_medbench_2023_file_names_map_to_tasks(tmp_path: Path, jsonl: Callable[..., Path]) -> None:
    jsonl("old/Health_exam.jsonl", [row("问题？A. 甲 B. 乙", "A")])
    jsonl("old/DDx-advanced_pre.jsonl", [row("诊断？A. 甲 B. 乙", "AB")])
    jsonl("old/DDx-advanced_final.jsonl", [row("诊断？A. 甲 B. 乙", "B")])
    items = read_suite(tmp_path / "old").plain_items
    assert sorted((i.task, i.id) for i in items) == [
        ("DDx-advanced", "DDx-advanced_final-1"), ("DDx-advanced", "DDx-advanced_pre-1"), ("Med-Exam", "Health_exam-1")]


def test_an_id_in_other_is_kept(jsonl: Callable[..., Path]) -> None:
    (item,) = read_suite(jsonl("MedSafety.jsonl", [row("问题？A. 甲 B. 乙", "A", other={"id": 17})])).plain_items
    assert item.id == "17"


BAD: dict[str, tuple[Any, str]] = {
    "bad JSON": ('{"question": "x", ', "bad JSON"),
    "missing field": ({"question": "问题？A. 甲 B. 乙"}, "missing field 'answer'"),
    "empty question": (row("  ", "A"), "field 'question' must be a non-empty text"),
    "answer letter not among options": (row("问题？A. 甲 B. 乙", "D"), "answer letter D not among options A, B"),
    "answer neither letter nor option": (row("问题？A. 甲 B. 乙", "丙"), "neither option letters nor the text of an option"),
    "empty options": (row("下列哪项正确？", "A"), "empty options"),
    "options not in order": (row("问题？", "A", options=["(B) 乙", "(A) 甲"]), "does not read as A, B, C"),
    "duplicate id": (row("问题？A. 甲 B. 乙", "A", other={"id": "Med-Exam-1"}), "duplicate id 'Med-Exam-1'"),
    "other not an object": (row("问题？A. 甲 B. 乙", "A", other=[1]), "field 'other' must be an object"),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_kind_of_bad_row_is_reported_with_its_line(kind: str, jsonl: Callable[..., Path]) -> None:
    bad, reason = BAD[kind]
    path = jsonl("Med-Exam.jsonl", [row("好问题？A. 甲 B. 乙", "A"), bad])
    problems = [str(p) for p in read_suite(path).problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith("Med-Exam.jsonl:2: ") and reason in problems[0]


def test_unknown_task_from_the_file_name(jsonl: Callable[..., Path]) -> None:
    path = jsonl("Radiology.jsonl", [row("问题？A. 甲 B. 乙", "A")])
    (problem,) = read_suite(path, fmt="medbench").problems
    assert str(problem).startswith("Radiology.jsonl: unknown task 'Radiology' (taken from the file name)")


@pytest.mark.parametrize("text, instruction, stem", [
    ("该问题为单选题，请直接回答正确的选项，不要进行解释和分析。患者男，45岁。", "该问题为单选题，请直接回答正确的选项，不要进行解释和分析。", "患者男，45岁。"),
    ("以下是一道单项选择题：题目：阿司匹林的作用机制是", "以下是一道单项选择题：", "阿司匹林的作用机制是"),
    ("患者女，30岁，咳嗽。诊断是", "", "患者女，30岁，咳嗽。诊断是"),
    ("请选择治疗高血压的首选药物。", "", "请选择治疗高血压的首选药物。"),  # content, not an instruction
    ("请选择正确答案。", "", "请选择正确答案。"),  # nothing would be left: kept as the question
    ("请从以下选项中选出正确答案：胰岛素的作用是", "请从以下选项中选出正确答案：", "胰岛素的作用是"),
])
def test_strip_instruction(text: str, instruction: str, stem: str) -> None:
    assert strip_instruction(text) == (instruction, stem)
