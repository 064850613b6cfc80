"""Builders of (item, order) cases for taxonomy tests: text outcomes come from the real metrics."""
from __future__ import annotations

from typing import Any

from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import get_metric
from evaluator.benchmark.scoring.base import ItemOutcome
from evaluator.benchmark.tasks import get_task
from evaluator.benchmark.taxonomy import Case

HYPERTENSION = Item(
    id="hc1", task="MedHC", question="高血压患者平时生活中要注意什么？",
    answer="应积极控制血压，低盐饮食，规律运动。",
    answer_points=[["控制血压", "降压"], ["低盐饮食", "限盐"], ["规律运动", "适量运动"]],
)
CASE_REASONING = Item(
    id="cl1", task="CMB-Clin", passage="患者，男，58岁，胸骨后压榨样疼痛2小时，伴大汗。心电图示ST段抬高。",
    question="请给出诊断及依据。", answer="急性心肌梗死。依据：胸痛、大汗、ST段抬高。",
    answer_points=[["急性心肌梗死", "心梗"], ["ST段抬高"], ["胸痛", "胸骨后疼痛"]],
)
RECORD = Item(
    id="mrg1", task="IMCS-V2-MRG", passage="医生：哪里不舒服？患者：咳嗽三天，有点发热。",
    question="请生成报告", answer={"主诉": "咳嗽3天伴发热", "诊断": "上呼吸道感染", "建议": "多饮水，休息"},
    answer_points=[["咳嗽"], ["发热"], ["上呼吸道感染", "上感"]],
)
NER = Item(id="ee1", task="CMeEE", question="患者有2型糖尿病，口服二甲双胍治疗。",
           answer=[{"entity": "2型糖尿病", "type": "疾病"}, {"entity": "二甲双胍", "type": "药物"}])
CTC = Item(id="ctc1", task="CHIP-CTC", question="年龄大于18岁", answer="Age",
           other={"candidates": ["Age", "Disease", "Therapy or Surgery"]})
SINGLE = Item(id="se1", task="Med-Exam", question="高血压首选检查？",
              options={"A": "血压测量", "B": "胸片", "C": "CT", "D": "MRI", "E": "B超"}, answer=["A"])
DDX = Item(id="dx1", task="DDx-basic", question="发热伴咳嗽，可能的诊断？",
           options={"A": "肺炎", "B": "支气管炎", "C": "骨折", "D": "痛风", "E": "流感"}, answer=["A", "B", "E"])


def text_case(item: Item, output: str | None, orders: int = 1) -> Case:
    """A case scored by the task's real metric."""
    task = get_task(item.task)
    outcome = get_metric(task.metric).score(task, item, output, None, None)
    return Case(task, item, outcome, output, [outcome] * orders)


def choice_case(item: Item, parsed: Any, raw: str | None = None, other_orders: list[Any] | None = None) -> Case:
    """A choice case: ``parsed`` in original keys; ``other_orders`` the parsed answers of the other orders."""
    task = get_task(item.task)

    def outcome(answer: Any) -> ItemOutcome:
        chosen = set([answer] if isinstance(answer, str) else answer or [])
        return ItemOutcome(parsed_answer=answer, correct=chosen == set(item.answer), score=None)

    this = outcome(parsed)
    return Case(task, item, this, raw, [this, *(outcome(a) for a in other_orders or [])])
