"""Per-kind checks of an item's options and answer, shared by every loader (see docs/architecture.md's table).

Loaders only translate a layout into :class:`evaluator.benchmark.items.Item`; whether the item can be prompted and scored
is decided here once, so a suite is held to the same rules whatever file format it came in.
"""
from __future__ import annotations

from typing import Any

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.options import OPTION_LETTERS
from evaluator.benchmark.tasks import TASKS, Kind

YES_NO_OPTIONS = {"A": "是", "B": "否"}


def check_item(item: Item) -> list[str]:
    """Every reason ``item`` cannot be used as it stands (empty list: it is fine)."""
    spec = TASKS.get(item.task)
    if spec is None:
        return [f"unknown task {item.task!r}; known tasks: {', '.join(sorted(TASKS))}"]
    problems = _check_answer_points(item)
    if spec.kind in (Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.MULTI_CHOICE):
        return problems + _check_choice(item, spec.kind)
    if item.options:
        problems.append(f"options are only for choice tasks, but {item.task} is {spec.kind.value}")
    checker = {
        Kind.CLOZE: _check_cloze,
        Kind.CLASSIFICATION: _check_classification,
        Kind.EXTRACTION: _check_extraction,
        Kind.RECORD: _check_record,
        Kind.OPEN_ENDED: _check_open_ended,
    }[spec.kind]
    return problems + checker(item)


def _check_answer_points(item: Item) -> list[str]:
    for index, point in enumerate(item.answer_points, start=1):
        if not point or any(not isinstance(text, str) or not text.strip() for text in point):
            return [f"answer point {index} is empty: each point needs at least one non-blank text"]
    return []


def _check_choice(item: Item, kind: Kind) -> list[str]:
    letters = list(item.options)
    if not letters:
        return ["empty options: a choice item needs its options (parsed from the question or given)"]
    problems = []
    if letters != list(OPTION_LETTERS[: len(letters)]):
        problems.append(f"option letters must run A, B, C, … in order (at most {len(OPTION_LETTERS)}), got {letters}")
    blank = [letter for letter, text in item.options.items() if not text.strip()]
    if blank:
        problems.append(f"empty option text for {', '.join(blank)}")
    if kind is Kind.YES_NO and len(letters) != 2:
        problems.append(f"a yes/no item needs exactly 2 options, got {len(letters)}")
    if item.answer is None:
        return problems
    answer = item.answer
    if not isinstance(answer, list) or not answer or not all(isinstance(a, str) for a in answer):
        return problems + [f"answer must be a list of option letters like [\"B\"], got {answer!r}"]
    unknown = [a for a in answer if a not in item.options]
    if unknown:
        problems.append(f"answer letter {', '.join(unknown)} not among options {', '.join(letters)}")
    if len(set(answer)) != len(answer):
        problems.append(f"answer repeats a letter: {answer}")
    if kind is not Kind.MULTI_CHOICE and len(answer) != 1:
        problems.append(f"a {kind.value} item has exactly one answer letter, got {answer}")
    return problems


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_candidates(item: Item) -> list[str]:
    candidates = item.other.get("candidates")
    if candidates is None:
        return []
    if not isinstance(candidates, list) or not candidates or not all(_is_text(c) for c in candidates):
        return ["other.candidates must be a non-empty list of texts"]
    return []


def _check_cloze(item: Item) -> list[str]:
    problems = _check_candidates(item)
    answer = item.answer
    if answer is None:
        return problems
    if not isinstance(answer, list) or not answer or not all(_is_text(a) for a in answer):
        return problems + [f"a cloze answer is a non-empty list of acceptable texts, got {answer!r}"]
    candidates = item.other.get("candidates")
    if not problems and candidates and not set(answer) & set(candidates):
        problems.append(f"no acceptable answer {answer} is among other.candidates")
    return problems


def _check_classification(item: Item) -> list[str]:
    problems = _check_candidates(item)
    if item.answer is None:
        return problems
    if not _is_text(item.answer):
        return problems + [f"a classification answer is one label text, got {item.answer!r}"]
    candidates = item.other.get("candidates")
    if not problems and candidates and item.answer not in candidates:
        problems.append(f"answer label {item.answer!r} is not among other.candidates")
    return problems


def _check_extraction(item: Item) -> list[str]:
    if item.answer is None:
        return []
    spec = TASKS[item.task]
    fields = spec.fields
    if not isinstance(item.answer, list):
        return [f"an extraction answer is a list of records with fields {', '.join(fields)}, got {item.answer!r}"]
    problems = []
    for index, record in enumerate(item.answer, start=1):
        if not isinstance(record, dict) or set(record) != set(fields):
            problems.append(f"answer record {index} must have exactly the fields {', '.join(fields)}, got {record!r}")
        elif not all(isinstance(value, str) for value in record.values()):
            problems.append(f"answer record {index}: every field value must be a text")
        else:
            problems += [f"answer record {index}: unknown {name} {record[name]!r}; allowed: "
                         f"{', '.join(map(repr, sorted(allowed)))}" for name, allowed in spec.field_values.items()
                         if record[name] not in allowed]
    return problems


def _check_record(item: Item) -> list[str]:
    if item.answer is None:
        return []
    fields = TASKS[item.task].fields
    answer = item.answer
    if not isinstance(answer, dict) or not answer:
        return [f"a record answer is an object with fields among {', '.join(fields)}, got {answer!r}"]
    unknown = [key for key in answer if key not in fields]
    if unknown:
        return [f"unknown record field {', '.join(map(repr, unknown))}; fields are {', '.join(fields)}"]
    if not all(isinstance(value, str) for value in answer.values()):
        return ["every record field value must be a text"]
    return []


def _check_open_ended(item: Item) -> list[str]:
    if item.answer is None or _is_text(item.answer):
        return []
    return [f"an open-ended answer is a reference text, got {item.answer!r}"]
