"""Helpers for the suite tests: write small suite files in every layout."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest


def item(id: str, task: str = "Med-Exam", **fields: Any) -> dict[str, Any]:
    """A valid project-format row; ``fields`` override or add keys."""
    row: dict[str, Any] = {"id": id, "task": task, "question": f"问题 {id}？",
                           "options": {"A": "甲", "B": "乙", "C": "丙"}, "answer": ["B"]}
    row.update(fields)
    return row


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Rows are dicts (dumped as JSON) or raw strings (written as they are, e.g. broken JSON)."""
    return write_lines(path, [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows])


@pytest.fixture
def jsonl(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, rows: list[Any]) -> Path:
        return write_jsonl(tmp_path / name, rows)
    return make
