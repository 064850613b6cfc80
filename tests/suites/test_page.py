"""The organizer Suites page, run for real with Streamlit's AppTest against a fresh SQLite database."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluator.tables import Suite
from submissions.tables import AuditLog
from tests.pages import PAGES, add_user, open_page, shown
from tests.suites.conftest import item, write_jsonl

PAGE = PAGES / "suites.py"


def stored(engine: Engine) -> list[tuple[str, int, bool]]:
    with Session(engine) as session:
        return [(s.name, s.item_count, s.active) for s in session.exec(select(Suite).order_by(Suite.id))]


@pytest.mark.parametrize("organizer", [None, False])
def test_non_organizers_are_refused(engine: Engine, organizer: bool | None) -> None:
    at = open_page(PAGE, None if organizer is None else add_user(engine, "visitor", organizer))
    assert "for organizers" in shown(at.error[0].value)
    assert not at.button and not at.text_input


def test_preview_then_commit_from_a_server_folder(engine: Engine, tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "data" / "imports" / "suite" / "a.jsonl",  # an import root (MEDBENCH_IMPORT_ROOTS)
                         [item("a-1"), item("a-2", "MedSafety", answer=None)]).parent
    at = open_page(PAGE, add_user(engine, "olivia", True))
    assert "No suites yet" in shown(at.info[0].value)
    at.text_input(key="suite_path").input(str(folder))
    at.text_input(key="suite_name").input("pilot")
    at.button(key="preview").click().run()
    assert [m.value for m in at.metric] == ["2", "1", at.session_state["suite_preview"].version[:12]]
    assert not at.error and stored(engine) == []  # a preview writes nothing
    at.checkbox(key="suite_activate").check()
    at.button(key="commit").click().run()
    assert "Imported suite 1 “pilot”: 2 items" in shown(at.success[0].value)
    assert stored(engine) == [("pilot", 2, True)]
    assert at.dataframe[0].value["name"].tolist() == ["pilot"]
    with Session(engine) as session:
        assert session.exec(select(AuditLog.actor_name, AuditLog.action).order_by(AuditLog.id)).all() == [
            ("olivia", "suite.import"), ("olivia", "suite.activate")]


def test_problems_are_listed_and_commit_is_disabled(engine: Engine, tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "data" / "imports" / "suite" / "a.jsonl", [item("a-1", answer=["X"]), "{oops"]).parent
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.text_input(key="suite_path").input(str(folder))
    at.text_input(key="suite_name").input("broken")
    at.button(key="preview").click().run()
    message = shown(at.error[0].value)
    assert "2 problems" in message
    assert "a.jsonl:1: answer letter X not among options A, B, C" in message and "a.jsonl:2: bad JSON" in message
    assert at.button(key="commit").disabled
    assert stored(engine) == []


def test_upload_a_zip_and_a_csv_then_commit(engine: Engine) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("medbench/Med-Exam/Med-Exam.jsonl",
                    '{"question": "首选药物是\\nA. 甲\\nB. 乙", "options": [], "answer": "B", "other": {}}\n')
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.radio(key="suite_source").set_value("Upload files").run()
    at.file_uploader(key="suite_uploads").set_value([
        ("suite.zip", archive.getvalue(), "application/zip"),
        ("MedSafety.csv", "id,Question,A,B,C,D,Answer\n0,问题,甲,乙,丙,丁,C\n".encode(), "text/csv"),
    ])
    at.text_input(key="suite_name").input("uploaded")
    at.button(key="preview").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe[1].value[["task", "items"]].values.tolist() == [["Med-Exam", 1], ["MedSafety", 1]]
    staged = Path(at.session_state["suite_upload_dir"])
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*.*")) == [
        "MedSafety.csv", "suite/medbench/Med-Exam/Med-Exam.jsonl"]
    at.button(key="commit").click().run()
    assert not at.exception
    assert stored(engine) == [("uploaded", 2, False)]
    assert not staged.exists()  # the staged upload is removed once imported


def test_activate_switches_the_active_suite(engine: Engine, tmp_path: Path) -> None:
    from evaluator.benchmark.suites.importer import import_suite

    with Session(engine) as session:
        import_suite(session, write_jsonl(tmp_path / "a.jsonl", [item("a-1")]), "first", activate=True)
        import_suite(session, write_jsonl(tmp_path / "b.jsonl", [item("b-1")]), "second")
        session.commit()
    at = open_page(PAGE, add_user(engine, "olivia", True))
    assert at.selectbox(key="activate_choice").value is None  # no default: not the newest import
    assert "activate" not in [b.key for b in at.button]  # nothing to activate until a suite is chosen
    at.selectbox(key="activate_choice").set_value(2).run()
    text = shown(at.markdown[0].value)
    assert "Compared with the active suite **first@" in text
    assert "- items: 1 → 1" in text and "- the same tasks" in text
    at.button(key="activate").click().run()  # not confirmed yet: nothing changes
    assert "Tick the confirmation first" in shown(at.error[0].value)
    assert stored(engine) == [("first", 1, True), ("second", 1, False)]
    at.checkbox(key="activate_confirm").check()
    at.button(key="activate").click().run()
    assert "Active suite: second" in shown(at.success[0].value)
    assert stored(engine) == [("first", 1, False), ("second", 1, True)]
