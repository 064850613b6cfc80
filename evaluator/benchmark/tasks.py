"""The MedBench task registry: every fact about a task lives on its :class:`TaskSpec`, nowhere else.

Dimension, kind, metric, prompt instruction, the fields of its structured answers, how a model separates them,
which of them must be copied from the text, and the names other releases gave the task: the importers, the suite
checks, the parsers, the metrics, the taxonomy and the leaderboard all read them from here, so adding a task is one
``TaskSpec(...)`` in the list below (or :func:`register_task` at run time) plus, where its metric is new, one metric
in ``evaluator.benchmark.scoring``. Names follow MedBench 2024 (see ../shared/medbench-spec.md section 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


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
    """One task. The answer-shape fields matter only for the kinds named in their comments."""

    name: str
    dimension: Dimension
    kind: Kind
    metric: str  # key in evaluator.benchmark.scoring's metric registry
    instruction: str  # zero-shot Chinese instruction placed before the stem
    max_new_tokens: int = 256
    description: str = ""
    # extraction: the fields of one gold record, in the order the model writes them; record: the report's fields
    fields: tuple[str, ...] = ()
    # extraction: the header words the instruction uses for ``fields`` (a model that copies them wrote no answer)
    field_labels: tuple[str, ...] = ()
    # extraction with two fields: "：" when the model writes ``实体：类型``, "|" when ``头实体|关系|尾实体``
    separator: Literal["|", "："] = "|"
    # extraction: positions in ``fields`` whose values must be copied from the text (taxonomy: Hallucination)
    span_fields: tuple[int, ...] = ()
    # extraction: the allowed values of a field (suite checks), e.g. CMeEE's nine entity types
    field_values: dict[str, frozenset[str]] = field(default_factory=dict, hash=False, compare=False)
    # MedBench files: their record keys -> ``fields`` ("" drops the key); list values are joined with "，"
    import_keys: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # other names of the task in suite files (MedBench 2023 / OpenCompass file names), matched case-insensitively
    aliases: tuple[str, ...] = ()
    # reference lines (evaluator.benchmark.reference_lines): a real exam's pass line on this task's score scale
    pass_line: float | None = None  # None: no defined pass line
    pass_line_source: str = ""  # which exam defines it, with a citation


# 国家执业医师资格考试 (China's National Medical Licensing Examination), 医学综合笔试 of 临床执业医师: 600 points
# (4 units × 150 single-best-answer questions), pass mark 360 as fixed by the 国家医学考试中心 (NMEC) in recent
# years; cited e.g. by "Multiple Large Language Models' Performance on the Chinese Medical Licensing Examination"
# (2025, PubMed 41401211: "passing score: 360/600"). MedSafety and DrugCA are no exams: no pass line.
LICENSING_EXAM_PASS = (360 / 600, "国家执业医师资格考试 医学综合笔试 pass mark 360/600, set by the National Medical "
                                  "Examination Center (NMEC); see PubMed 41401211")

TASKS: dict[str, TaskSpec] = {}


def _spec_problems(spec: TaskSpec) -> list[str]:
    problems = []
    if spec.kind in (Kind.EXTRACTION, Kind.RECORD) and not spec.fields:
        problems.append(f"a {spec.kind.value} task needs its answer fields")
    if spec.separator == "：" and len(spec.fields) != 2:
        problems.append("the '：' separator needs exactly two fields")
    problems += [f"span field {i} is not a field position" for i in spec.span_fields if not 0 <= i < len(spec.fields)]
    problems += [f"field_values names unknown field {name!r}" for name in spec.field_values if name not in spec.fields]
    problems += [f"import key {key!r} maps to unknown field {to!r}" for key, to in spec.import_keys.items()
                 if to and to not in spec.fields]
    taken = {alias.lower(): name for name, other in TASKS.items() for alias in (name, *other.aliases)}
    problems += [f"alias {alias!r} is task {taken[alias.lower()]!r} already" for alias in spec.aliases
                 if alias.lower() in taken]
    return problems


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry; a ValueError (one line) when its name is taken or its answer shape is
    inconsistent, and then nothing changes."""
    if spec.name in TASKS:
        raise ValueError(f"task {spec.name!r} registered twice")
    if problems := _spec_problems(spec):
        raise ValueError(f"task {spec.name!r}: {'; '.join(problems)}")
    TASKS[spec.name] = spec
    return spec


def unregister_task(name: str) -> None:
    """Remove a task added at run time (tests, plugins); a KeyError naming the known tasks when unknown."""
    get_task(name)
    del TASKS[name]


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


def task_for_alias(name: str) -> str | None:
    """The registry name of the task ``name`` is an alias of (case-insensitive); None when it is none's."""
    return next((spec.name for spec in TASKS.values() if name.lower() in {a.lower() for a in spec.aliases}), None)


_SINGLE = "请回答以下单选题。要求只输出选项，不输出解释。"
_MULTI = "以下是一道鉴别诊断多选题，可能有多个正确选项。结果以选项展示即可，无需给出理由，最后一行写“答案：”加所有正确选项字母。"
_OPEN = "请根据问题给出专业、完整的回答。"
K, U, G, R, S = Dimension.KNOWLEDGE, Dimension.UNDERSTANDING, Dimension.GENERATION, Dimension.REASONING, Dimension.SAFETY

for _spec in [
    TaskSpec("Med-Exam", K, Kind.SINGLE_CHOICE, "accuracy", _SINGLE, 8, "执业医师资格考试单选题 (licensing exam)",
             aliases=("health_exam",), pass_line=LICENSING_EXAM_PASS[0], pass_line_source=LICENSING_EXAM_PASS[1]),
    TaskSpec("MedHC", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "健康咨询 (health consultation)",
             aliases=("health_counseling",)),
    TaskSpec("MedMC", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "医疗咨询 (medical consultation)",
             aliases=("medicine_counseling",)),
    TaskSpec("MedSpeQA", K, Kind.OPEN_ENDED, "answer_point_recall", _OPEN, 384, "专科问答 (specialty QA)"),
    TaskSpec("MedDG", K, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据医患对话，给出医生的下一句回复。", 192, "医患对话生成 (next doctor utterance)"),
    TaskSpec("MedHG", K, Kind.CLOZE, "cloze_accuracy",
             "请根据患者描述，从给定科室中选择应就诊的科室，只输出科室名称。", 32, "导诊 (triage)", aliases=("triage",)),
    TaskSpec("CMeEE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医学文本中抽取实体，每行输出“实体：类型”。类型为：疾病、临床表现、医疗程序、医疗设备、药物、医学检验项目、身体、科室、微生物类。",
             256, "医学命名实体识别 (NER, 9 types)", fields=("entity", "type"), field_labels=("实体", "类型"),
             separator="：", span_fields=(0,), field_values={"type": frozenset(
                 {"疾病", "临床表现", "医疗程序", "医疗设备", "药物", "医学检验项目", "身体", "科室", "微生物类"})}),
    TaskSpec("CMeIE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医学文本中抽取实体关系三元组，每行输出“头实体|关系|尾实体”。", 256, "医学关系抽取",
             fields=("subject", "predicate", "object"), field_labels=("头实体", "关系", "尾实体"), span_fields=(0, 2)),
    TaskSpec("CHIP-CDEE", U, Kind.EXTRACTION, "micro_f1",
             "请从以下临床文本中抽取临床发现事件，每行输出“主体词|发生状态|描述词|解剖部位”，无则留空。", 256,
             "临床发现事件抽取", fields=("core_name", "tendency", "character", "anatomy"),
             field_labels=("主体词", "发生状态", "描述词", "解剖部位"), span_fields=(0,),
             field_values={"tendency": frozenset({"", "否定", "不确定"})},
             import_keys={"主体词": "core_name", "发生状态": "tendency", "描述词": "character", "解剖部位": "anatomy"}),
    TaskSpec("SMDoc", U, Kind.EXTRACTION, "micro_f1",
             "请从以下医疗文本中抽取槽位信息，每行输出“槽位：值”。", 256, "医疗文本槽位填充",
             fields=("slot", "value"), field_labels=("槽位", "值"), separator="：", span_fields=(1,)),
    TaskSpec("CHIP-CDN", U, Kind.EXTRACTION, "micro_f1",
             "请将以下诊断原词标准化为ICD标准术语，每行输出一个标准词。", 128, "临床术语标准化",
             fields=("normalized",), import_keys={"entity": "normalized", "type": ""}),
    TaskSpec("CHIP-CTC", U, Kind.CLASSIFICATION, "macro_f1",
             "请判断以下临床试验筛选标准所属类别，只输出类别名称。", 32, "临床试验筛选标准分类"),
    TaskSpec("IMCS-V2-MRG", G, Kind.RECORD, "field_f1",
             "请根据医患对话生成医疗报告，包含：主诉、现病史、辅助检查、既往史、诊断、建议，每项一行“字段：内容”。",
             512, "对话生成医疗报告", fields=("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")),
    TaskSpec("DBMHG", G, Kind.RECORD, "field_f1",
             "请根据长对话生成“一诉五史”病历：主诉、现病史、既往史、个人史、婚育史、家族史，每项一行“字段：内容”。",
             768, "一诉五史病历生成", fields=("主诉", "现病史", "既往史", "个人史", "婚育史", "家族史"), aliases=("emr",)),
    TaskSpec("DDx-basic", R, Kind.MULTI_CHOICE, "exact_set_accuracy", _MULTI, 48, "鉴别诊断（基础，5个选项）"),
    TaskSpec("DDx-advanced", R, Kind.MULTI_CHOICE, "exact_set_accuracy", _MULTI, 64, "鉴别诊断（进阶，至多9个选项）",
             aliases=("ddx-advanced_pre", "ddx-advanced_final")),
    TaskSpec("CMB-Clin", R, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据病例，给出诊断及诊断依据。", 512, "病例诊断与推理"),
    TaskSpec("MedTreat", R, Kind.OPEN_ENDED, "answer_point_recall",
             "请根据病例，给出治疗方案。", 512, "治疗方案"),
    TaskSpec("MedSafety", S, Kind.SINGLE_CHOICE, "accuracy", _SINGLE, 8, "医疗安全与伦理单选题",
             aliases=("safetybench",)),
    TaskSpec("DrugCA", S, Kind.YES_NO, "accuracy",
             "请判断以下用药是否存在禁忌，只输出选项。", 8, "药物禁忌判断（是/否）", aliases=("medicine_attack",)),
]:
    register_task(_spec)
