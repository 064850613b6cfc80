"""Empty suites are refused with a problem line; activating a suite that drops ranked tasks needs a confirmation
(the importer, the CLI's --force and the Suites page's checkbox), on real SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from evaluator.ops.cli import app
from evaluator.benchmark.suites.importer import (ActivationRefused, activate_suite, get_active_suite, import_suite,
                                       missing_ranked_tasks)
from evaluator.tables import Suite
from submissions.tables import AuditLog
from tests.pages import PAGES, add_user, open_page, shown
from tests.suites.conftest import item, write_jsonl, write_lines

runner = CliRunner()
PAGE = PAGES / "suites.py"


def stored(engine: Engine) -> list[tuple[str, bool]]:
    with Session(engine) as session:
        return [(s.name, s.active) for s in session.exec(select(Suite).order_by(Suite.id))]


@pytest.mark.parametrize("layout", ["file", "folder"])
def test_an_empty_suite_is_refused_with_a_problem_line(engine: Engine, tmp_path: Path, layout: str) -> None:
    empty = write_lines(tmp_path / "s" / "Med-Exam.jsonl", [""])
    path = empty if layout == "file" else empty.parent
    dry = runner.invoke(app, ["import-suite", str(path), "--name", "empty", "--dry-run"])
    assert dry.exit_code == 1
    assert "1 problem(s):" in dry.output and "the suite is empty: no items in Med-Exam.jsonl" in dry.output
    real = runner.invoke(app, ["import-suite", str(path), "--name", "empty", "--activate"])
    assert real.exit_code == 1 and "the suite is empty" in real.output
    assert stored(engine) == []


def _two_suites(session: Session, tmp_path: Path) -> tuple[int, int]:
    full = import_suite(session, write_jsonl(tmp_path / "full.jsonl", [item("a-1"), item("s-1", "MedSafety",
                                                                                        answer=None)]),
                        "full", activate=True)
    partial = import_suite(session, write_jsonl(tmp_path / "partial.jsonl", [item("b-1")]), "partial")
    session.commit()
    return full.id, partial.id


def test_activation_dropping_ranked_tasks_needs_force(any_engine: Engine, tmp_path: Path) -> None:
    with Session(any_engine) as session:
        full, partial = _two_suites(session, tmp_path)
        assert missing_ranked_tasks(session, ["Med-Exam"]) == ["MedSafety"]
        with pytest.raises(ActivationRefused) as refused:
            activate_suite(session, partial)
        assert refused.value.missing == ["MedSafety"]
        assert "lacks 1 task(s) the leaderboard ranks on" in refused.value.summary
        session.rollback()
        assert get_active_suite(session).id == full
        activate_suite(session, partial, force=True)
        session.commit()
        assert get_active_suite(session).id == partial
        audit = session.exec(select(AuditLog).where(AuditLog.action == "suite.activate")
                             .order_by(AuditLog.id.desc())).first()
        assert audit.after["tasks_dropped"] == ["MedSafety"]
        activate_suite(session, full)  # a superset drops nothing: no confirmation needed
        session.commit()


def test_cli_activate_and_import_refuse_without_force(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        _, partial = _two_suites(session, tmp_path)
    refused = runner.invoke(app, ["activate-suite", str(partial)])
    assert refused.exit_code == 1
    assert "MedSafety: ranked on the active suite 'full', absent from 'partial'" in refused.output
    assert "add --force" in refused.output
    assert stored(engine) == [("full", True), ("partial", False)]
    assert runner.invoke(app, ["activate-suite", str(partial), "--force"]).exit_code == 0
    assert stored(engine) == [("full", False), ("partial", True)]

    third = write_jsonl(tmp_path / "third.jsonl", [item("c-1", "MedSafety", answer=None)])
    refused = runner.invoke(app, ["import-suite", str(third), "--name", "third", "--activate"])
    assert refused.exit_code == 1 and "Med-Exam: ranked on the active suite 'partial'" in refused.output
    assert stored(engine) == [("full", False), ("partial", True)]  # the import was rolled back with it
    forced = runner.invoke(app, ["import-suite", str(third), "--name", "third", "--activate", "--force"])
    assert forced.exit_code == 0 and stored(engine)[-1] == ("third", True)


def test_page_lists_what_is_dropped_and_needs_the_checkbox(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        _, partial = _two_suites(session, tmp_path)
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.selectbox(key="activate_choice").set_value(partial).run()
    assert "`MedSafety`" in at.warning[0].value
    changes = shown(at.markdown[0].value)  # what changes against the active suite, before any click
    assert "- tasks it lacks: MedSafety" in changes
    assert "- dimensions it lacks (no task left): Healthcare Safety & Ethics" in changes
    at.button(key="activate").click().run()
    assert "activation refused" in at.error[0].value
    assert stored(engine) == [("full", True), ("partial", False)]
    at.checkbox(key="activate_confirm").check()
    at.button(key="activate").click().run()
    assert "Active suite: partial" in shown(at.success[0].value)  # the flash is escaped (common.display)
    assert stored(engine) == [("full", False), ("partial", True)]

