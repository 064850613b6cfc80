"""Uploaded files are staged safely before they are previewed like a server folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.uploads import stage_uploads


def test_uploads_keep_only_base_names(tmp_path: Path) -> None:
    staged = stage_uploads([("../../evil/Med-Exam.jsonl", b"{}\n")], tmp_path / "stage")
    assert [p.relative_to(staged).as_posix() for p in staged.rglob("*")] == ["Med-Exam.jsonl"]
    assert not (tmp_path / "evil").exists()


def test_unsupported_files_and_broken_zips_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as refused:
        stage_uploads([("notes.docx", b"x"), ("data.zip", b"not a zip"), ("ok.csv", b"id\n")], tmp_path / "stage")
    assert refused.value.problems == [
        "notes.docx: not a suite file (expected .jsonl, .json, .csv, .zip)",
        "data.zip: not a valid .zip archive",
    ]
