"""CSV in the C-Eval / CMMLU shape: ``id,Question,A,B,C,D,Answer`` (more option columns up to I allowed, an
optional ``explanation``). Column names are matched case-insensitively; CMMLU's unnamed first column is the id.

These files carry no task, so one is chosen at import (``--task``); without it, a file named after a task
(``Med-Exam.csv``) is mapped to that task. Item ids are ``<file stem>-<id>`` because C-Eval numbers every
subject file from 0, and several files may go into one suite.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.formats.common import (
    FileResult,
    Located,
    parse_letters,
    read_text,
    resolve_task_name,
    validation_reasons,
)
from evaluator.benchmark.suites.options import OPTION_LETTERS
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS

FORMAT = "csv"
_ID_NAMES = {"", "id", "unnamed: 0"}


def read_ceval_csv(path: Path, display: str, task: str | None = None) -> FileResult:
    """Read a C-Eval/CMMLU CSV as choice items of ``task`` (or of the task the file is named after)."""
    result = FileResult(display, FORMAT)
    task_name = resolve_task_name(task) if task else resolve_task_name(path.stem)
    if task_name is None:
        result.problem(0, f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}" if task else
                       "a CSV file carries no task: choose one with --task (or name the file after a task)")
        return result
    spec = TASKS[task_name]
    if spec.kind not in CHOICE_KINDS:
        result.problem(0, f"CSV rows are choice questions, but task {task_name} is {spec.kind.value}")
        return result
    text = read_text(path, result)
    if text is None:
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        result.problem(0, "empty file")
        return result
    columns = _columns(header, result)
    if columns is None:
        return result
    line_no = reader.line_num
    for cells in reader:
        start, line_no = line_no + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            result.problem(start, f"row has {len(cells)} cells, the header has {len(header)}")
            continue
        item, reasons = _row_item(dict(zip(columns, cells)), task_name, path.stem, start)
        for reason in reasons:
            result.problem(start, reason)
        if item is not None:
            result.items.append(Located(item, display, start))
    return result


def _columns(header: list[str], result: FileResult) -> list[str] | None:
    """Header cells -> canonical names (id, question, A..I, answer, others lower-cased); None if unusable."""
    columns = []
    for index, name in enumerate(header):
        key = name.strip()
        if key.lower() in _ID_NAMES and index == 0:
            columns.append("id")
        elif key.upper() in OPTION_LETTERS and len(key) == 1:
            columns.append(key.upper())
        else:
            columns.append(key.lower())
    missing = [name for name in ("question", "A", "B", "answer") if name not in columns]
    if missing:
        result.problem(1, f"missing column(s) {', '.join(missing)}; expected id,Question,A,B,C,D,Answer")
        return None
    return columns


def _row_item(row: dict[str, str], task: str, stem: str, line: int) -> tuple[Item | None, list[str]]:
    letters = [letter for letter in OPTION_LETTERS if letter in row]
    while letters and not row[letters[-1]].strip():  # 4-option rows in a file with an E column
        letters.pop()
    answer_text = row["answer"].strip()
    answer = parse_letters(answer_text) if answer_text else None
    if answer_text and answer is None:
        return None, [f"answer {answer_text!r} is not option letters"]
    other = {key: value for key, value in row.items()
             if key not in ("id", "question", "answer", *OPTION_LETTERS) and value.strip()}
    try:
        item = Item(
            id=f"{stem}-{row.get('id', '').strip() or line}",
            task=task,
            question=row["question"].strip(),
            options={letter: row[letter].strip() for letter in letters},
            answer=answer,
            other=other,
        )
    except ValidationError as exc:
        return None, validation_reasons(exc)
    return item, []
