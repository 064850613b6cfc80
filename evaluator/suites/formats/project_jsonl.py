"""The project's own JSONL (one :class:`evaluator.items.Item` per line), what ``export_suite`` writes."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from evaluator.items import Item
from evaluator.suites.formats.common import FileResult, Located, read_text, validation_reasons

FORMAT = "jsonl"


def read_project_jsonl(path: Path, display: str) -> FileResult:
    """Read every non-blank line as one item; each bad line becomes a problem, the others are kept."""
    result = FileResult(display, FORMAT)
    text = read_text(path, result)
    if text is None:
        return result
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
        try:
            result.items.append(Located(Item.model_validate(row), display, line_no))
        except ValidationError as exc:
            for reason in validation_reasons(exc):
                result.problem(line_no, reason)
    return result
