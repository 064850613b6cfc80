"""Suite visibility (spec section 8): private unless chosen public at import (API, CLI, Suites page preview), the
bundled demo suite public, changed by organizers only (page, CLI), every change audited with before and after."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from evaluator.ops.cli import app
from evaluator.benchmark.suites.bundled import ensure_demo_suite
from evaluator.benchmark.suites.importer import import_suite
from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.visibility import set_visibility
from evaluator.tables import Suite
from submissions.tables import AuditLog, User
from tests.pages import PAGES, add_user, open_page, shown
from tests.suites.conftest import item, write_jsonl

runner = CliRunner()


def visibilities(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(s.name, s.visibility) for s in session.exec(select(Suite).order_by(Suite.id))]


def audit(engine: Engine, action: str = "suite.visibility") -> list[tuple[str, dict, dict]]:
    with Session(engine) as session:
        return [(a.actor_name, a.before, a.after) for a in
                session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))]


def test_an_import_is_private_unless_chosen_public(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "a.jsonl", [item("a-1")])
    write_jsonl(tmp_path / "b" / "b.jsonl", [item("b-1")])
    with Session(engine) as session:
        import_suite(session, tmp_path / "a", "unpublished")
        import_suite(session, tmp_path / "b", "open", visibility="public")
        with pytest.raises(SuiteError, match="bad visibility"):
            import_suite(session, tmp_path / "b", "x", visibility="secret")
        ensure_demo_suite(session)
        session.commit()
    assert visibilities(engine) == [("unpublished", "private"), ("open", "public"), ("demo", "public")]
    assert [after["visibility"] for _, _, after in audit(engine, "suite.import")] == ["private", "public", "public"]


def test_cli_import_defaults_to_private_and_takes_visibility(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "a.jsonl", [item("a-1")])
    write_jsonl(tmp_path / "b" / "b.jsonl", [item("b-1")])
    dry = runner.invoke(app, ["import-suite", str(tmp_path / "a"), "--name", "a", "--dry-run"])
    assert "visibility on import: private" in dry.output
    assert runner.invoke(app, ["import-suite", str(tmp_path / "a"), "--name", "a"]).exit_code == 0
    result = runner.invoke(app, ["import-suite", str(tmp_path / "b"), "--name", "b", "--visibility", "public"])
    assert result.exit_code == 0 and ", public" in result.output
    bad = runner.invoke(app, ["import-suite", str(tmp_path / "b"), "--name", "c", "--visibility", "open"])
    assert bad.exit_code != 0 and "open" in bad.output
    assert visibilities(engine) == [("a", "private"), ("b", "public")]
    listing = runner.invoke(app, ["list-suites"]).output
    assert "private" in listing and "public" in listing


def test_only_organizers_change_visibility_and_it_is_audited(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "a.jsonl", [item("a-1")])
    organizer_id, submitter_id = add_user(engine, "olga", True), add_user(engine, "sam", False)
    with Session(engine) as session:
        suite_id = import_suite(session, tmp_path / "a", "held").id
        session.commit()
    with Session(engine) as session:
        with pytest.raises(SuiteError, match="only organizers"):
            set_visibility(session, suite_id, "public", actor=session.get(User, submitter_id))
        with pytest.raises(SuiteError, match="bad visibility"):
            set_visibility(session, suite_id, "everyone", actor=session.get(User, organizer_id))
        session.commit()
    assert visibilities(engine) == [("held", "private")] and audit(engine) == []
    with Session(engine) as session:
        set_visibility(session, suite_id, "public", actor=session.get(User, organizer_id))
        set_visibility(session, suite_id, "public", actor=session.get(User, organizer_id))  # no change, no row
        session.commit()
    result = runner.invoke(app, ["set-visibility", str(suite_id), "private"])
    assert result.exit_code == 0 and "is private" in result.output
    assert runner.invoke(app, ["set-visibility", "99", "public"]).exit_code == 1
    assert audit(engine) == [("olga", {"visibility": "private"}, {"visibility": "public"}),
                             ("CLI", {"visibility": "public"}, {"visibility": "private"})]


def test_suites_page_preview_defaults_to_private_and_organizers_change_it(engine: Engine, tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "data" / "imports" / "suite" / "a.jsonl", [item("a-1")]).parent
    at = open_page(PAGES / "suites.py", add_user(engine, "olivia", True))
    at.text_input(key="suite_path").input(str(folder))
    at.text_input(key="suite_name").input("pilot")
    at.button(key="preview").click().run()
    assert at.radio(key="suite_visibility").value == "private"
    at.button(key="commit").click().run()
    assert "version" in shown(at.success[0].value) and "private." in shown(at.success[0].value)
    assert visibilities(engine) == [("pilot", "private")]
    assert at.dataframe[0].value["visibility"].tolist() == ["private"]
    at.radio(key="visibility_value").set_value("public")
    at.button(key="visibility_change").click().run()
    assert "is public" in shown(at.success[0].value)
    assert visibilities(engine) == [("pilot", "public")]
    assert audit(engine) == [("olivia", {"visibility": "private"}, {"visibility": "public"})]
    at = open_page(PAGES / "suites.py", add_user(engine, "sam", False))  # a direct URL, not an organizer
    assert "for organizers" in shown(at.error[0].value) and not at.radio


def test_preview_choice_public_is_stored(engine: Engine, tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "data" / "imports" / "suite" / "a.jsonl", [item("a-1")]).parent
    at = open_page(PAGES / "suites.py", add_user(engine, "olivia", True))
    at.text_input(key="suite_path").input(str(folder))
    at.text_input(key="suite_name").input("open")
    at.button(key="preview").click().run()
    at.radio(key="suite_visibility").set_value("public")
    at.button(key="commit").click().run()
    assert visibilities(engine) == [("open", "public")]
