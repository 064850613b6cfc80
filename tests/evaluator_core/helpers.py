"""Suites and models for the evaluator-core tests, made through the real importer and tables."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from sqlmodel import Session

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.importer import import_suite
from evaluator.tables import Suite
from evaluator.engine.tiny_models import folder_sha
from submissions.tables import ModelEntry

OPTIONS5 = {"A": "肺炎", "B": "高血压", "C": "糖尿病", "D": "心肌梗死", "E": "头痛"}


def yes_no_items(answers: str) -> list[Item]:
    return [Item(id=f"drug-{i}", task="DrugCA", question=f"服用药物{i}的患者合用华法林是否存在禁忌？",
                 options={"A": "是", "B": "否"}, answer=[a]) for i, a in enumerate(answers)]


def single_items(answers: str, task: str = "Med-Exam") -> list[Item]:
    return [Item(id=f"{task}-{i}", task=task, question=f"患者{20 + i}岁，发热咳嗽{i + 1}天，最可能的诊断是？",
                 options=OPTIONS5, answer=[a]) for i, a in enumerate(answers)]


def ddx_items(answers: list[list[str]]) -> list[Item]:
    return [Item(id=f"ddx-{i}", task="DDx-basic", passage="男，55岁，胸痛。", question="应考虑哪些诊断？",
                 options=OPTIONS5, answer=a) for i, a in enumerate(answers)]


def make_suite(session: Session, folder: Path, items: list[Item], name: str = "core-test") -> Suite:
    """Write ``items`` as <Task>.jsonl files and import them with the suites importer."""
    by_task: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_task[item.task].append(item)
    folder.mkdir(parents=True, exist_ok=True)
    for task, task_items in by_task.items():
        lines = [json.dumps(i.model_dump(), ensure_ascii=False) for i in task_items]
        (folder / f"{task}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return import_suite(session, folder, name)


def make_model(session: Session, folder: Path, name: str, use_chat_template: bool = True) -> ModelEntry:
    model = ModelEntry(hub_id=f"local/{name}", commit_sha=folder_sha(folder), precision="float32",
                       local_path=str(folder), use_chat_template=use_chat_template)
    session.add(model)
    session.flush()
    return model
