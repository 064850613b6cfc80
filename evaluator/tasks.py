"""The MedBench task registry: every task's dimension, kind, metric and prompt instruction.

Adding a task is one ``register(TaskSpec(...))`` line here plus, where its metric is new, one metric in
``evaluator.scoring``. Names follow MedBench 2024 (see ../shared/medbench-spec.md section 1).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Dimension(StrEnum):
    KNOWLEDGE = "knowledge"
    UNDERSTANDING = "understanding"
    GENERATION = "generation"
    REASONING = "reasoning"
    SAFETY = "safety"


DIMENSION_LABELS: dict[Dimension, tuple[str, str]] = {
    Dimension.KNOWLEDGE: ("Medical Knowledge QA", "医学知识问答"),
    Dimension.UNDERSTANDING: ("Medical Language Understanding", "医学语言理解"),
    Dimension.GENERATION: ("Medical Language Generation", "医学语言生成"),
    Dimension.REASONING: ("Complex Medical Reasoning", "复杂医学推理"),
    Dimension.SAFETY: ("Healthcare Safety & Ethics", "医疗安全和伦理"),
}


class Kind(StrEnum):
    SINGLE_CHOICE = "single_choice"  # one correct letter; scored by next-token letter scores
    YES_NO = "yes_no"  # two options 是/否; scored like single choice
    MULTI_CHOICE = "multi_choice"  # several correct letters; generated, exact-set accuracy (+Jaccard)
    CLOZE = "cloze"  # pick from a closed list by writing it; gold string(s) in output
    OPEN_ENDED = "open_ended"  # free text; answer-point macro-recall (+ROUGE-L)
    EXTRACTION = "extraction"  # structured output; micro-F1
    CLASSIFICATION = "classification"  # one label from a list; macro-F1
    RECORD = "record"  # structured medical record / report; field F1 or answer-point recall


CHOICE_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.MULTI_CHOICE})
LOGPROB_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO})  # one forward pass per (item, order)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    dimension: Dimension
    kind: Kind
    metric: str  # key in evaluator.scoring's metric registry
    instruction: str  # zero-shot Chinese instruction placed before the stem
    max_new_tokens: int = 256
    description: str = ""
    # --- reference lines (evaluator.reference_lines): a real exam's pass line on this task's score scale ---
    pass_line: float | None = None  # None: no defined pass line
    pass_line_source: str = ""  # which exam defines it, with a citation


TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    if spec.name in TASKS:
        raise ValueError(f"task {spec.name!r} registered twice")
    TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


_SINGLE = "请回答以下单选题。要求只输出选项，不输出解释。"
_MULTI = "以下是一道鉴别诊断多选题，可能有多个正确选项。结果以选项展示即可，无需给出理由，最后一行写“答案：”加所有正确选项字母。"
_OPEN = "请根据问题给出专业、完整的回答。"
K, U, G, R, S = Dimension.KNOWLEDGE, Dimension.UNDERSTANDING, Dimension.GENERATION, Dimension.REASONING, Dimension.SAFETY

for _spec in [
    TaskSpec("Med-Exam", K, Kind.SINGLE_CHOICE, "accuracy", _SINGLE, 8, "执业医师资格考试单选题 (licensing exam)"),
    TaskSpec("MedHC", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "健康咨询 (health consultation)"),
    TaskSpec("MedMC", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "医疗咨询 (medical consultation)"),
    TaskSpec("MedSpeQA", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "专科问答 (specialty QA)"),
    TaskSpec("MedDG", K, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据医患对话，给出医生的下一句回复。", 192, "医患对话生成 (next doctor utterance)"),
    TaskSpec("MedHG", K, Kind.CLOZE, "cloze_accuracy",
             "请根据患者描述，从给定科室中选择应就诊的科室，只输出科室名称。", 32, "导诊 (triage)"),
    TaskSpec("CMeEE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医学文本中抽取实体，每行输出“实体：类型”。类型为：疾病、临床表现、医疗程序、医疗设备、药物、医学检验项目、身体、科室、微生物类。",
             256, "医学命名实体识别 (NER, 9 types)"),
    TaskSpec("CMeIE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医学文本中抽取实体关系三元组，每行输出“头实体|关系|尾实体”。", 256, "医学关系抽取"),
    TaskSpec("CHIP-CDEE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下临床文本中抽取临床发现事件，每行输出“主体词|发生状态|描述词|解剖部位”，无则留空。", 256,
             "临床发现事件抽取"),
    TaskSpec("SMDoc", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医疗文本中抽取槽位信息，每行输出“槽位：值”。", 256, "医疗文本槽位填充"),
    TaskSpec("CHIP-CDN", U, Kind.EXTRACTION, "micro_f1",
             "请将以下诊断原词标准化为ICD标准术语，每行输出一个标准词。", 128, "临床术语标准化"),
    TaskSpec("CHIP-CTC", U, Kind.CLASSIFICATION, "macro_f1",
             "请判断以下临床试验筛选标准所属类别，只输出类别名称。", 32, "临床试验筛选标准分类"),
    TaskSpec("IMCS-V2-MRG", G, Kind.RECORD, "field_f1",
             "请根据医患对话生成医疗报告，包含：主诉、现病史、辅助检查、既往史、诊断、建议，每项一行“字段：内容”。",
             512, "对话生成医疗报告"),
    TaskSpec("DBMHG", G, Kind.RECORD, "field_f1",
             "请根据长对话生成“一诉五史”病历：主诉、现病史、既往史、个人史、婚育史、家族史，每项一行“字段：内容”。",
             768, "一诉五史病历生成"),
    TaskSpec("DDx-basic", R, Kind.MULTI_CHOICE, "exact_set_accuracy", _MULTI, 48, "鉴别诊断（基础，5个选项）"),
    TaskSpec("DDx-advanced", R, Kind.MULTI_CHOICE, "exact_set_accuracy", _MULTI, 64, "鉴别诊断（进阶，至多9个选项）"),
    TaskSpec("CMB-Clin", R, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据病例，给出诊断及诊断依据。", 512, "病例诊断与推理"),
    TaskSpec("MedTreat", R, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据病例，给出治疗方案。", 512, "治疗方案"),
    TaskSpec("MedSafety", S, Kind.SINGLE_CHOICE, "accuracy", _SINGLE, 8, "医疗安全与伦理单选题"),
    TaskSpec("DrugCA", S, Kind.YES_NO, "accuracy",
             "请判断以下用药是否存在禁忌，只输出选项。", 8, "药物禁忌判断（是/否）"),
]:
    register(_spec)

# Pass lines of exam-style tasks where the real exam defines one (a separate block: TaskSpec lines stay short).
# 国家执业医师资格考试 (China's National Medical Licensing Examination), 医学综合笔试 of 临床执业医师: 600 points
# (4 units × 150 single-best-answer questions), pass mark 360 as fixed by the 国家医学考试中心 (NMEC) in recent
# years; cited e.g. by "Multiple Large Language Models' Performance on the Chinese Medical Licensing Examination"
# (2025, PubMed 41401211: "passing score: 360/600"). MedSafety and DrugCA are no exams: no pass line.
PASS_LINES: dict[str, tuple[float, str]] = {
    "Med-Exam": (360 / 600, "国家执业医师资格考试 医学综合笔试 pass mark 360/600, set by the National Medical "
                            "Examination Center (NMEC); see PubMed 41401211"),
}
for _name, (_line, _source) in PASS_LINES.items():
    TASKS[_name] = replace(TASKS[_name], pass_line=_line, pass_line_source=_source)

# The fields of one gold record of each extraction task, in the order a model writes them: what the suite checks
# require of an answer and what the scorer compares.
EXTRACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "CMeEE": ("entity", "type"),
    "CMeIE": ("subject", "predicate", "object"),
    "CHIP-CDEE": ("core_name", "tendency", "character", "anatomy"),
    "SMDoc": ("slot", "value"),
    "CHIP-CDN": ("normalized",),
}
# The fields of each record task's reference (its prompt asks for them, one "字段：内容" line each).
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "IMCS-V2-MRG": ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议"),
    "DBMHG": ("主诉", "现病史", "既往史", "个人史", "婚育史", "家族史"),
}
