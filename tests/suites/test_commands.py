"""The suite commands of ``cli.py eval``: import (dry run, refusal, activation), list, export, activate."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from evaluator.ops.cli import app
from evaluator.tables import Suite
from tests.suites.conftest import item, write_jsonl, write_lines

runner = CliRunner()


def suites(engine: Engine) -> list[tuple[str, int, bool]]:
    with Session(engine) as session:
        return [(s.name, s.item_count, s.active) for s in session.exec(select(Suite).order_by(Suite.id))]


def test_dry_run_prints_the_preview_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "s" / "a.jsonl", [item("a-1"), item("a-2", "DrugCA", options={"A": "是", "B": "否"},
                                                                answer=None)])
    result = runner.invoke(app, ["import-suite", str(tmp_path / "s"), "--name", "demo", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Med-Exam       single_choice        1       1" in result.output
    assert "DrugCA         yes_no               1       0" in result.output
    assert "per dimension: knowledge 1, understanding 0, generation 0, reasoning 0, safety 1" in result.output
    assert "version: " in result.output
    assert suites(engine) == []


def test_a_refused_import_prints_every_problem_and_exits_1(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "s" / "a.jsonl", [item("a-1", answer=["Z"]), item("a-1")])
    for extra in ([], ["--dry-run"]):
        result = runner.invoke(app, ["import-suite", str(tmp_path / "s"), "--name", "bad", *extra])
        assert result.exit_code == 1
        assert "a.jsonl:1: answer letter Z not among options A, B, C" in result.output
        assert "a.jsonl:2: duplicate id 'a-1' (first at a.jsonl:1)" in result.output
    assert suites(engine) == []


def test_csv_import_with_task_activate_list_export_and_activate(engine: Engine, tmp_path: Path) -> None:
    csv_file = write_lines(tmp_path / "ceval.csv", ["id,question,A,B,C,D,answer", "0,问题,甲,乙,丙,丁,A"])
    result = runner.invoke(app, ["import-suite", str(csv_file), "--name", "ceval", "--format", "csv",
                                 "--task", "MedSafety", "--activate"])
    assert result.exit_code == 0, result.output
    assert "suite 1 'ceval': 1 items" in result.output and "(active)" in result.output
    write_jsonl(tmp_path / "s" / "a.jsonl", [item("a-1")])
    assert runner.invoke(app, ["import-suite", str(tmp_path / "s"), "--name", "second"]).exit_code == 0
    assert suites(engine) == [("ceval", 1, True), ("second", 1, False)]
    same = runner.invoke(app, ["import-suite", str(tmp_path / "s"), "--name", "third"])
    assert same.exit_code == 0 and "already stored as suite 2 'second': nothing imported" in same.output
    assert suites(engine) == [("ceval", 1, True), ("second", 1, False)]

    listing = runner.invoke(app, ["list-suites"]).output
    assert listing.splitlines()[1].split()[:2] == ["2", "second"] and listing.splitlines()[2].endswith("yes")

    assert runner.invoke(app, ["activate-suite", "2"]).exit_code == 1  # it lacks MedSafety, ranked now
    assert runner.invoke(app, ["activate-suite", "2", "--force"]).exit_code == 0
    assert suites(engine) == [("ceval", 1, False), ("second", 1, True)]
    missing = runner.invoke(app, ["activate-suite", "7"])
    assert missing.exit_code == 1 and "no suite with id 7" in missing.output

    exported = runner.invoke(app, ["export-suite", "1", str(tmp_path / "out")])
    assert exported.exit_code == 0 and (tmp_path / "out" / "MedSafety.jsonl").exists()
    again = runner.invoke(app, ["export-suite", "1", str(tmp_path / "out")])
    assert again.exit_code == 1 and "export folder must be new or empty" in again.output


def test_a_csv_without_task_is_refused(engine: Engine, tmp_path: Path) -> None:
    csv_file = write_lines(tmp_path / "ceval.csv", ["id,question,A,B,C,D,answer", "0,问题,甲,乙,丙,丁,A"])
    result = runner.invoke(app, ["import-suite", str(csv_file), "--name", "x"])
    assert result.exit_code == 1 and "ceval.csv: a CSV file carries no task" in result.output
    assert suites(engine) == []
