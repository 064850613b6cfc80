"""A task of each kind registered at run time (``evaluator.benchmark.tasks.register_task``, no other edit) is imported from a
MedBench file named by its alias, prompted, parsed, scored, tagged and shown by the leaderboard; the registry refuses
inconsistent specs with one line and is left as it was."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from common.db import session_scope
from evaluator.benchmark.permutations import shown_letters
from evaluator.benchmark.prompts import build_prompt
from evaluator.engine.scoring import score_run
from evaluator.engine.spec import RunSpec
from evaluator.engine.units import create_run, plan_units, select_items
from evaluator.benchmark.suites.importer import import_suite, load_items
from evaluator.tables import ItemResult, TaskScore
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS, Dimension, Kind, TaskSpec, get_task, register_task, unregister_task
from evaluator.benchmark.taxonomy import CATEGORIES
from leaderboard import ranking
from leaderboard.model_report import model_report
from submissions.tables import ModelEntry

D = Dimension.UNDERSTANDING
SPECS = [
    TaskSpec("Tmp-Single", D, Kind.SINGLE_CHOICE, "accuracy", "请回答以下单选题。", 8, aliases=("tmp_single",)),
    TaskSpec("Tmp-YesNo", D, Kind.YES_NO, "accuracy", "请判断。", 8, aliases=("tmp_yes_no",)),
    TaskSpec("Tmp-Multi", D, Kind.MULTI_CHOICE, "exact_set_accuracy", "多选题，最后一行写“答案：”加字母。", 16,
             aliases=("tmp_multi",)),
    TaskSpec("Tmp-Cloze", D, Kind.CLOZE, "cloze_accuracy", "选择科室，只输出科室名称。", 16, aliases=("tmp_cloze",)),
    TaskSpec("Tmp-Class", D, Kind.CLASSIFICATION, "macro_f1", "只输出类别名称。", 16, aliases=("tmp_class",)),
    TaskSpec("Tmp-Extract", D, Kind.EXTRACTION, "micro_f1", "每行输出“药物|剂量”。", 64, aliases=("tmp_extract",),
             fields=("drug", "dose"), field_labels=("药物", "剂量"), span_fields=(0,),
             import_keys={"药物": "drug", "剂量": "dose"}),
    TaskSpec("Tmp-Record", D, Kind.RECORD, "field_f1", "每项一行“字段：内容”：主诉、处理。", 64,
             aliases=("tmp_record",), fields=("主诉", "处理")),
    TaskSpec("Tmp-Open", D, Kind.OPEN_ENDED, "answer_point_recall", "请回答。", 64, aliases=("tmp_open",)),
]
# Per task: (MedBench row, a right output, a wrong output); choice outputs name the option keys to favour.
ROWS: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "Tmp-Single": ({"question": "高血压首选检查？", "options": {"A": "血压测量", "B": "胃镜", "C": "肠镜"}, "answer": "A"},
                   ["A"], ["C"]),
    "Tmp-YesNo": ({"question": "孕妇可否服用利巴韦林？", "options": {"A": "是", "B": "否"}, "answer": "B"}, ["B"], ["A"]),
    "Tmp-Multi": ({"question": "发热的可能病因？", "options": {"A": "感染", "B": "骨折", "C": "肿瘤"}, "answer": "AC"},
                  ["A", "C"], ["B"]),
    "Tmp-Cloze": ({"question": "胸痛伴出汗，应就诊？", "options": ["心内科", "眼科"], "answer": "心内科"}, "心内科", "眼科"),
    "Tmp-Class": ({"question": "年龄大于18岁", "options": ["Age", "Disease"], "answer": "Age"}, "Age", "Disease"),
    "Tmp-Extract": ({"question": "予阿司匹林100mg口服。", "answer": [{"药物": "阿司匹林", "剂量": "100mg"}]},
                    "阿司匹林|100mg", "青霉素|1g"),
    "Tmp-Record": ({"question": "患者：头痛两天。医生：先休息观察。", "answer": "主诉：头痛两天\n处理：休息观察"},
                   "主诉：头痛两天\n处理：休息观察", "无"),
    "Tmp-Open": ({"question": "感冒怎么办？", "answer": "多休息，多饮水。", "other": {"answer_points": ["休息", "饮水"]}},
                 "应当多休息，多饮水。", "不知道。"),
}


@pytest.fixture
def tmp_tasks() -> Iterator[list[TaskSpec]]:
    before = list(TASKS)
    for spec in SPECS:
        register_task(spec)
    yield SPECS
    for spec in SPECS:
        unregister_task(spec.name)
    assert list(TASKS) == before


def _suite_folder(root: Path) -> Path:
    """One MedBench-layout file per task, named by the task's alias, each with the same item twice."""
    for spec in SPECS:
        row = ROWS[spec.name][0]
        lines = [json.dumps({**row, "other": {**row.get("other", {}), "id": f"{spec.name}-{n}"}}, ensure_ascii=False)
                 for n in (1, 2)]
        (root / f"{spec.aliases[0]}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _row(task: TaskSpec, permutation: list[str], output: Any) -> dict[str, Any]:
    """The stored result of one (item, order): letter scores for letter-scored kinds, else the generated text."""
    letters = shown_letters(len(permutation)) if task.kind in CHOICE_KINDS else []
    if task.kind in (Kind.SINGLE_CHOICE, Kind.YES_NO):
        return {"raw_output": None, "letter_scores": {letter: (0.0 if key in output else -5.0)
                                                      for letter, key in zip(letters, permutation)}}
    if task.kind == Kind.MULTI_CHOICE:
        return {"raw_output": "答案：" + "".join(letter for letter, key in zip(letters, permutation) if key in output),
                "letter_scores": {}}
    return {"raw_output": output, "letter_scores": {}}


def test_a_task_of_each_kind_added_at_run_time_works_end_to_end(engine, tmp_path, tmp_tasks) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        suite = import_suite(session, _suite_folder(tmp_path), "tmp-kinds", activate=True)
        items = load_items(session, suite.id)
        assert sorted({item.task for _, item in items}) == sorted(s.name for s in SPECS)
        extraction = next(item for _, item in items if item.task == "Tmp-Extract")
        assert extraction.answer == [{"drug": "阿司匹林", "dose": "100mg"}]  # TaskSpec.import_keys
        model = ModelEntry(hub_id="tmp/model", commit_sha="1" * 40, precision="float32")
        session.add(model)
        session.flush()
        run = create_run(session, model, suite, k=2, device="cpu")
        spec = RunSpec.model_validate(run.run_spec)
        units = plan_units(select_items(spec, items), spec)
        for unit in units:
            prompt = build_prompt(unit.task, unit.item, unit.permutation, None, False)
            assert unit.task.instruction in prompt and unit.item.question in prompt
            right, wrong = ROWS[unit.task.name][1:]
            output = right if unit.item.id.endswith("-1") else wrong
            session.add(ItemResult(run_id=run.id, item_id=unit.suite_item_id, task=unit.task.name,
                                   dimension=D.value, order_index=unit.order_index, permutation=unit.permutation,
                                   prompt=prompt, **_row(unit.task, unit.permutation, output)))
        run.status, run.finished_at = "finished", datetime.now(timezone.utc)
        run_id, model_id = run.id, model.id
    score_run(run_id, engine=engine)
    with Session(engine) as session:
        scores = {t.task: t for t in session.exec(select(TaskScore).where(TaskScore.run_id == run_id))}
        rows = session.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
        assert set(scores) == {s.name for s in SPECS}
        for name, score in scores.items():
            assert score.score == pytest.approx(0.5 if get_task(name).kind != Kind.CLASSIFICATION else 1 / 3), name
        for row in rows:
            assert row.correct is (row.item_id == min(r.item_id for r in rows if r.task == row.task)), row.task
            assert (row.error_primary is None) == row.correct and (row.correct or row.error_primary in CATEGORIES)
        frame = ranking.task_frame(session, D.value)
        assert [f"{s.name}" for s in SPECS if f"{s.name}" in frame.columns] == [s.name for s in SPECS]
        assert frame.loc[frame["run_id"] == run_id, "Tmp-Open"].iloc[0] == pytest.approx(0.5)
        report = model_report(session, model_id)
        assert {s.name for s in SPECS} <= set(report.tasks["task"])
        ranked = ranking.leaderboard_frame(session)
        assert ranked.loc[ranked["model_id"] == model_id, D.value].notna().all()


@pytest.mark.parametrize(("spec", "message"), [
    (TaskSpec("Med-Exam", D, Kind.SINGLE_CHOICE, "accuracy", "x"), "registered twice"),
    (TaskSpec("Tmp-Bad", D, Kind.EXTRACTION, "micro_f1", "x"), "needs its answer fields"),
    (TaskSpec("Tmp-Bad", D, Kind.EXTRACTION, "micro_f1", "x", fields=("a",), span_fields=(1,)), "span field 1"),
    (TaskSpec("Tmp-Bad", D, Kind.EXTRACTION, "micro_f1", "x", fields=("a", "b", "c"), separator="："),
     "exactly two fields"),
    (TaskSpec("Tmp-Bad", D, Kind.SINGLE_CHOICE, "accuracy", "x", aliases=("EMR",)), "alias 'EMR' is task 'DBMHG'"),
])
def test_inconsistent_specs_are_refused_and_change_nothing(spec: TaskSpec, message: str) -> None:
    before = dict(TASKS)
    with pytest.raises(ValueError, match=message):
        register_task(spec)
    assert TASKS == before
