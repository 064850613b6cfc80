"""The MedBench / OpenCompass layout: ``<Task>/<Task>.jsonl``, rows with passage, question, options, label, answer,
other. The task comes from the file name (or its folder); MedBench 2023 names are mapped (``TaskSpec.aliases``).

What happens to each field:

- Choice tasks (single, multi, yes/no): options come from ``options`` (a dict, or a list like ["(A) …", …]) or,
  when that is empty, are parsed out of ``question`` (evaluator.benchmark.suites.options) so that they can be permuted.
  ``question`` keeps only the stem. MedBench's baked-in instruction ("请回答以下单选题。要求只输出选项…",
  "结果以选项展示即可，无需给出理由") is removed from the stem, because our prompt puts TaskSpec.instruction
  first and the options last; the removed text is kept verbatim in ``other["medbench_instruction"]`` (and text
  after the options, e.g. "答案：", in ``other["medbench_tail"]``), so nothing is lost. ``answer`` (or ``label``)
  may be letters ("B", "AC", ["A", "C"]) or an option's text ("是"); it becomes a list of letters. DrugCA rows
  without options get {"A": "是", "B": "否"}.
- Other tasks keep ``question`` verbatim: there the instruction is item-specific (the department list of MedHG,
  the output format of an extraction), and the prompt must not lose it. ``options`` of a cloze or
  classification row become ``other["candidates"]``; a record answer written as "字段：内容" lines becomes an
  object; extraction records keyed as MedBench keys them (CHIP-CDN's {"entity", "type"}, CHIP-CDEE's Chinese
  keys) get the project's fields by ``TaskSpec.import_keys``.
- ``answer: null`` (public test files) loads as an unscored item. ``id``: ``other.id`` when present, else
  ``<file stem>-<line>``. ``answer_points`` (top level or in ``other``) are kept for open-ended items.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.checks import YES_NO_OPTIONS
from evaluator.benchmark.suites.formats.common import FileResult, Located, jsonl_objects, parse_letters, task_from_path, validation_reasons
from evaluator.benchmark.suites.options import normalize_letter, options_from_list, split_options
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS, Kind, TaskSpec

FORMAT = "medbench"
MEDBENCH_FIELDS = ("passage", "question", "options", "label", "answer", "other")
REQUIRED_FIELDS = ("question", "answer")

# Sentences that only instruct the model how to answer a choice question (never content).
_INSTRUCTION_WORDS = re.compile(
    r"选择题|单选题|多选题|只输出|不输出解释|不要进行解释|无需给出理由|以选项展示|直接回答|请回答以下|"
    r"请(?:选择|选出|给出|回答|从)[^。！!\n]*?(?:选项|答案)"
)
_LEADING_SENTENCE = re.compile(r"^\s*(.{1,160}?[。！!\n]|.{1,160}?[:：](?=\s*\S))", re.S)
_TRAILING_INSTRUCTION = re.compile(
    r"(?:^|(?<=[。？?！!\n]))[^。？?！!\n]*(?:无需给出理由|不输出解释|只输出选项|不要进行解释)[^。？?！!\n]*[。]?\s*$"
)
_QUESTION_LABEL = re.compile(r"^\s*(?:问题|题目|题干)\s*[:：]\s*")


def strip_instruction(stem: str) -> tuple[str, str]:
    """Remove leading instruction sentences from a choice stem -> (instruction, stem)."""
    removed, rest = [], stem
    while (match := _LEADING_SENTENCE.match(rest)) and _INSTRUCTION_WORDS.search(match.group(1)):
        removed.append(match.group(1).strip())
        rest = rest[match.end():]
    trailing = _TRAILING_INSTRUCTION.search(rest)
    if trailing and trailing.start() > 0:
        removed.append(trailing.group(0).strip())
        rest = rest[: trailing.start()]
    rest = _QUESTION_LABEL.sub("", rest).strip()
    if not rest:  # the whole stem reads like an instruction: it is the question, keep it
        return "", stem.strip()
    return "\n".join(removed), rest


def read_medbench_jsonl(path: Path, display: str) -> FileResult:
    """Read a MedBench-layout file; the task is taken from the file or folder name."""
    result = FileResult(display, FORMAT)
    task = task_from_path(path)
    if task is None:
        result.problem(0, f"unknown task {path.stem!r} (taken from the file name); known tasks: {', '.join(sorted(TASKS))}")
        return result
    for line_no, row in jsonl_objects(path, result):
        item, reasons = convert_row(row, TASKS[task], f"{path.stem}-{line_no}")
        for reason in reasons:
            result.problem(line_no, reason)
        if item is not None:
            result.items.append(Located(item, display, line_no))
    return result


def convert_row(row: dict[str, Any], spec: TaskSpec, default_id: str) -> tuple[Item | None, list[str]]:
    """One MedBench row -> an item of ``spec``'s task, or None with the reasons it cannot be one."""
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        return None, [f"missing field {name!r}" for name in missing]
    question, other = row["question"], row.get("other") or {}
    if not isinstance(question, str) or not question.strip():
        return None, ["field 'question' must be a non-empty text"]
    if not isinstance(other, dict):
        return None, [f"field 'other' must be an object, got {type(other).__name__}"]
    other = dict(other)
    other.update({key: value for key, value in row.items() if key not in MEDBENCH_FIELDS and key != "answer_points"})
    answer = row["answer"] if row["answer"] not in (None, "", []) else row.get("label")
    answer = None if answer in ("", []) else answer
    fields: dict[str, Any] = {
        "id": str(other.pop("id", default_id)),
        "task": spec.name,
        "passage": row.get("passage") or "",
        "answer_points": _answer_points(row.get("answer_points", other.pop("answer_points", []))),
    }
    if spec.kind in CHOICE_KINDS:
        converted, reasons = _choice_fields(question, row.get("options"), answer, spec.kind, other)
    else:
        converted, reasons = _other_fields(question, row.get("options"), answer, spec, other)
    if reasons:
        return None, reasons
    try:
        return Item.model_validate({**fields, **converted, "other": other}), []
    except ValidationError as exc:
        return None, validation_reasons(exc)


def _answer_points(value: Any) -> Any:
    """Points given as plain texts become one-text points; lists of synonyms stay as they are."""
    if isinstance(value, list):
        return [[point] if isinstance(point, str) else point for point in value]
    return value


def _given_options(options: Any) -> tuple[dict[str, str] | None, str | None]:
    if not options:
        return None, None
    if isinstance(options, dict):
        return {normalize_letter(str(k)): str(v).strip() for k, v in options.items()}, None
    if isinstance(options, list) and all(isinstance(o, str) for o in options):
        parsed = options_from_list(options)
        if parsed is None:
            return None, f"options list {options!r} does not read as A, B, C, … in order"
        return parsed, None
    return None, f"field 'options' must be a list or an object, got {options!r}"


def _choice_fields(question: str, options: Any, answer: Any, kind: Kind,
                   other: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    given, reason = _given_options(options)
    if reason:
        return {}, [reason]
    split = split_options(question)
    stem = question
    if split is not None and (given is None or len(split.options) == len(given)):
        stem, given = split.stem, given or split.options
        if split.tail:
            other["medbench_tail"] = split.tail
    if given is None and kind is Kind.YES_NO:
        given = dict(YES_NO_OPTIONS)
    instruction, stem = strip_instruction(stem)
    if instruction:
        other["medbench_instruction"] = instruction
    if not stem:
        return {}, ["the question has no stem left once its instruction and options are taken out"]
    letters, reason = _answer_letters(answer, given or {})
    if reason:
        return {}, [reason]
    return {"question": stem, "options": given or {}, "answer": letters}, []


def _answer_letters(answer: Any, options: dict[str, str]) -> tuple[list[str] | None, str | None]:
    """Letters ("AC", ["A", "C"]) or option texts ("是") -> a list of letters."""
    if answer is None:
        return None, None
    values = answer if isinstance(answer, list) else [answer]
    if not all(isinstance(v, str) for v in values):
        return None, f"answer must be option letters or option texts, got {answer!r}"
    by_text = {text: letter for letter, text in options.items()}
    letters: list[str] = []
    for value in values:
        if value.strip() in by_text:
            letters.append(by_text[value.strip()])
        elif (parsed := parse_letters(value)) is not None:
            letters.extend(parsed)
        else:
            return None, f"answer {value!r} is neither option letters nor the text of an option"
    return letters, None


def _other_fields(question: str, options: Any, answer: Any, spec: TaskSpec,
                  other: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    if options:
        if spec.kind not in (Kind.CLOZE, Kind.CLASSIFICATION):
            return {}, [f"options are only for choice tasks, but {spec.name} is {spec.kind.value}"]
        values = list(options.values()) if isinstance(options, dict) else options
        other.setdefault("candidates", values)
    if spec.kind is Kind.CLOZE and isinstance(answer, str):
        answer = [answer]
    elif spec.kind is Kind.CLASSIFICATION and isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    elif spec.kind is Kind.RECORD and isinstance(answer, str):
        answer = _record_from_lines(answer, spec.fields)
    elif spec.kind is Kind.EXTRACTION and isinstance(answer, list):
        answer = [_project_record(spec, record) for record in answer]
    return {"question": question, "answer": answer}, []


def _record_from_lines(text: str, fields: tuple[str, ...]) -> dict[str, str] | str:
    """"主诉：咳嗽3天\\n现病史：…" -> {"主诉": "咳嗽3天", …}; the text unchanged if no line names a field."""
    pattern = re.compile(rf"^\s*({'|'.join(fields)})\s*[:：]\s*(.*)$")
    record = {m.group(1): m.group(2).strip() for line in text.splitlines() if (m := pattern.match(line))}
    return record or text


def _project_record(spec: TaskSpec, record: Any) -> Any:
    """A record keyed as MedBench keys it (only ``spec.import_keys``) -> the project's fields; others unchanged."""
    keys = spec.import_keys
    if not isinstance(record, dict) or not keys or not set(record) <= set(keys):
        return record
    return {keys[k]: "，".join(v) if isinstance(v, list) else v for k, v in record.items() if keys[k]}
