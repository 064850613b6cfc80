"""The project's own JSONL (one :class:`evaluator.benchmark.items.Item` per line), what ``export_suite`` writes."""
from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.formats.common import FileResult, Located, jsonl_objects, validation_reasons

FORMAT = "jsonl"


def read_project_jsonl(path: Path, display: str) -> FileResult:
    """Read every non-blank line as one item; each bad line becomes a problem, the others are kept."""
    result = FileResult(display, FORMAT)
    for line_no, row in jsonl_objects(path, result):
        try:
            result.items.append(Located(Item.model_validate(row), display, line_no))
        except ValidationError as exc:
            for reason in validation_reasons(exc):
                result.problem(line_no, reason)
    return result
