"""What every loader returns, and the small helpers they share (task names, letters, validation messages)."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.options import normalize_letter
from evaluator.benchmark.suites.problems import Problem
from evaluator.benchmark.tasks import TASKS, task_for_alias

_LETTERS_TEXT = re.compile(r"[A-IＡ-Ｉa-i](?:[\s,，、;；]*[A-IＡ-Ｉa-i])*")


@dataclass(frozen=True)
class Located:
    """An item and where it came from, so later checks can still point at file:line."""

    item: Item
    file: str
    line: int


@dataclass
class FileResult:
    """One file read by one loader: the items it yielded and every problem it found."""

    file: str
    format: str
    items: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def resolve_task_name(name: str) -> str | None:
    """A registry task name for ``name`` ("Med-Exam", "med_exam", "Health_exam" ...: the name, an alias from
    ``TaskSpec.aliases``, or the name without case, spaces, "_" and "-"); None if unknown."""
    if name in TASKS:
        return name
    return task_for_alias(name) or {_squash(task): task for task in TASKS}.get(_squash(name))


def task_from_path(path: Path) -> str | None:
    """The task a file holds by its name (``Med-Exam.jsonl``) or its folder (``Med-Exam/test.jsonl``)."""
    return resolve_task_name(path.stem) or resolve_task_name(path.parent.name)


def parse_letters(text: str) -> list[str] | None:
    """"B", "AC", "A,C", "Ａ、Ｃ" -> letters; None when ``text`` is not only option letters."""
    text = text.strip()
    if not _LETTERS_TEXT.fullmatch(text):
        return None
    return [normalize_letter(ch) for ch in text if not re.match(r"[\s,，、;；]", ch)]


def validation_reasons(error: ValidationError) -> list[str]:
    """Pydantic's errors as short reasons: "missing field 'question'", "field 'id': ..."."""
    reasons = []
    for err in error.errors():
        where = ".".join(str(part) for part in err["loc"])
        if err["type"] == "missing":
            reasons.append(f"missing field {where!r}")
        elif err["type"] == "extra_forbidden":
            reasons.append(f"unknown field {where!r}")
        else:
            reasons.append(f"field {where!r}: {err['msg']}")
    return reasons


def read_text(path: Path, result: FileResult) -> str | None:
    """The file as text (UTF-8, a BOM allowed); None and a problem when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problem(0, f"not UTF-8 text (byte {exc.start}): save the file as UTF-8")
        return None


def jsonl_objects(path: Path, result: FileResult) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file; a line that is not UTF-8, not JSON or not
    an object becomes a problem on ``result`` and is skipped, so one bad line never hides the others."""
    text = read_text(path, result)
    if text is None:
        return
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            result.problem(line_no, f"bad JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(row, dict):
            result.problem(line_no, f"expected a JSON object, got {type(row).__name__}")
            continue
        yield line_no, row
