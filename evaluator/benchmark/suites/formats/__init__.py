"""Suite file formats, detected per file: the project JSONL, the MedBench/OpenCompass JSONL, C-Eval/CMMLU CSV."""
from __future__ import annotations

import json
from pathlib import Path

from evaluator.benchmark.suites.formats.ceval_csv import read_ceval_csv
from evaluator.benchmark.suites.formats.common import FileResult, Located
from evaluator.benchmark.suites.formats.medbench import read_medbench_jsonl
from evaluator.benchmark.suites.formats.project_jsonl import read_project_jsonl

FORMATS = ("auto", "medbench", "csv", "jsonl")
DATA_SUFFIXES = (".jsonl", ".json", ".csv")
_SNIFF_LINES = 20

__all__ = ["DATA_SUFFIXES", "FORMATS", "FileResult", "Located", "detect_format", "read_file"]


def detect_format(path: Path) -> str:
    """"csv" by suffix; for JSONL, "jsonl" when the first JSON row has ``id`` and ``task``, else "medbench"."""
    if path.suffix.lower() == ".csv":
        return "csv"
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            for _, raw in zip(range(_SNIFF_LINES), handle):
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    return "jsonl" if {"id", "task"} <= row.keys() else "medbench"
    except OSError:
        pass
    return "jsonl"


def read_file(path: Path, display: str, fmt: str = "auto", task: str | None = None) -> FileResult:
    """Read one file in ``fmt`` (detected when "auto"); ``task`` applies to CSV files only."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "csv":
        return read_ceval_csv(path, display, task)
    if fmt == "medbench":
        return read_medbench_jsonl(path, display)
    return read_project_jsonl(path, display)
