"""Import, versions, export round-trip, activation and loading, on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from evaluator.benchmark.suites.importer import (
    SuiteError,
    activate_suite,
    export_suite,
    get_active_suite,
    import_suite,
    list_suites,
    load_items,
    suite_tasks,
)
from evaluator.benchmark.suites.preview import preview_suite
from evaluator.tables import Suite, SuiteItem, SuiteTask
from submissions.tables import AuditLog, User
from tests.suites.conftest import item, write_jsonl, write_lines

MEDBENCH_EXAM = {"passage": None, "question": "请回答以下单选题。\n首选药物是\nA. 甲\nB. 乙", "options": [],
                 "label": None, "answer": "A", "other": {}}


def mixed_folder(root: Path) -> Path:
    """A folder mixing the three layouts: project JSONL, MedBench JSONL (one unscored row) and CSV."""
    write_jsonl(root / "project" / "open.jsonl", [
        item("hc-1", "MedHC", options={}, answer="多饮水。", answer_points=[["多饮水"]]),
        item("ee-1", "CMeEE", options={}, answer=[{"entity": "糖尿病", "type": "疾病"}]),
    ])
    write_jsonl(root / "Med-Exam" / "Med-Exam.jsonl", [MEDBENCH_EXAM, {**MEDBENCH_EXAM, "answer": None}])
    write_lines(root / "MedSafety.csv", ["id,Question,A,B,C,D,Answer", "0,问题,甲,乙,丙,丁,C"])
    return root


def count(session: Session, table: type) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_import_writes_suite_tasks_and_items(any_engine: Engine, tmp_path: Path) -> None:
    with Session(any_engine) as session:
        suite = import_suite(session, mixed_folder(tmp_path / "suite"), "mixed")
        session.commit()
        assert (suite.name, suite.item_count, suite.active, len(suite.version)) == ("mixed", 5, False, 64)
        tasks = {t.name: (t.dimension, t.kind, t.metric, t.item_count, t.scored_count)
                 for t in suite_tasks(session, suite.id)}
        assert tasks == {
            "Med-Exam": ("knowledge", "single_choice", "accuracy", 2, 1),
            "MedHC": ("knowledge", "open_ended", "answer_point_recall", 1, 1),
            "CMeEE": ("understanding", "extraction", "micro_f1", 1, 1),
            "MedSafety": ("safety", "single_choice", "accuracy", 1, 1),
        }
        pairs = load_items(session, suite.id)
        assert sorted(row.item_key for row, _ in pairs) == ["Med-Exam-1", "Med-Exam-2", "MedSafety-0", "ee-1", "hc-1"]
        assert all(row.data == parsed.model_dump() and row.task == parsed.task for row, parsed in pairs)
        audit = session.exec(select(AuditLog).where(AuditLog.action == "suite.import")).one()
        assert (audit.target_id, audit.after["items"]) == (suite.id, 5)


def test_a_bad_row_refuses_the_whole_import_and_changes_nothing(any_engine: Engine, tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "suite")
    write_jsonl(root / "project" / "bad.jsonl", [item("x-1"), item("x-2", answer=["Q"]), "{not json"])
    with Session(any_engine) as session:
        with pytest.raises(SuiteError) as refused:
            import_suite(session, root, "mixed")
        session.commit()
        assert refused.value.problems == [
            "project/bad.jsonl:2: answer letter Q not among options A, B, C",
            "project/bad.jsonl:3: bad JSON: Expecting property name enclosed in double quotes (column 2)",
        ]
        assert [count(session, t) for t in (Suite, SuiteTask, SuiteItem, AuditLog)] == [0, 0, 0, 0]


def test_round_trip_keeps_the_version_and_reimport_gives_the_same_suite(any_engine: Engine, tmp_path: Path) -> None:
    with Session(any_engine) as session:
        original = import_suite(session, mixed_folder(tmp_path / "suite"), "mixed")
        session.commit()
        files = export_suite(session, original.id, tmp_path / "export")
        assert sorted(f.name for f in files) == ["CMeEE.jsonl", "Med-Exam.jsonl", "MedHC.jsonl", "MedSafety.jsonl"]
        assert preview_suite(tmp_path / "export").version == original.version
        again = import_suite(session, tmp_path / "export", "renamed copy")
        session.commit()
        assert again.id == original.id and again.version == original.version
        assert [count(session, t) for t in (Suite, SuiteItem)] == [1, 5]


def test_the_version_ignores_file_order_row_order_and_key_order(tmp_path: Path) -> None:
    rows = [item("a-1"), item("a-2", answer=["C"]), item("s-1", "MedSafety")]
    write_jsonl(tmp_path / "one" / "all.jsonl", rows)
    reordered = [{k: r[k] for k in reversed(list(r))} for r in reversed(rows)]
    write_jsonl(tmp_path / "two" / "z.jsonl", reordered[:1])
    write_jsonl(tmp_path / "two" / "a.jsonl", reordered[1:])
    first, second = preview_suite(tmp_path / "one"), preview_suite(tmp_path / "two")
    assert first.version == second.version is not None
    write_jsonl(tmp_path / "three" / "all.jsonl", [*rows[:2], item("s-1", "MedSafety", question="改过的问题？")])
    assert preview_suite(tmp_path / "three").version != first.version


def test_a_zip_imports_like_its_folder(engine: Engine, tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "suite")
    archive = tmp_path / "suite.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in root.rglob("*.*"):
            zf.write(file, file.relative_to(root).as_posix())
    assert preview_suite(archive).version == preview_suite(root).version
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert preview_suite(tmp_path / "broken.zip").problems == ["broken.zip: not a valid .zip archive"]


def test_activation_keeps_exactly_one_active_suite(any_engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "x.jsonl", [item("a-1")])
    write_jsonl(tmp_path / "b" / "x.jsonl", [item("b-1")])
    with Session(any_engine) as session:
        first = import_suite(session, tmp_path / "a", "first", activate=True)
        second = import_suite(session, tmp_path / "b", "second")
        session.commit()
        assert get_active_suite(session).id == first.id
        alice = User(username="alice", is_organizer=True)
        session.add(alice)
        activate_suite(session, second.id, actor=alice)
        session.commit()
        assert [(s.name, s.active) for s in list_suites(session)] == [("second", True), ("first", False)]
        audit = session.exec(select(AuditLog).where(AuditLog.action == "suite.activate")
                             .order_by(AuditLog.id.desc())).first()
        assert (audit.actor_name, audit.before, audit.after["active_suite_id"]) == (
            "alice", {"active_suite_id": first.id}, second.id)
        with pytest.raises(SuiteError, match="no suite with id 999"):
            activate_suite(session, 999)
        assert get_active_suite(session).id == second.id


def test_expected_version_refuses_content_changed_since_the_preview(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s" / "x.jsonl", [item("a-1")])
    previewed = preview_suite(path).version
    write_jsonl(path, [item("a-1", answer=["C"])])
    with Session(engine) as session:
        with pytest.raises(SuiteError, match="content changed since the preview"):
            import_suite(session, path, "s", expected_version=previewed)
        assert count(session, Suite) == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_bad_name_is_refused(engine: Engine, tmp_path: Path, name: str) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [item("a-1")])
    with Session(engine) as session, pytest.raises(SuiteError, match="suite name must be 1 to 100 characters"):
        import_suite(session, path, name)


def test_export_refuses_a_non_empty_folder(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [item("a-1")])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.jsonl").write_text("{}")
    with Session(engine) as session:
        suite = import_suite(session, path, "s")
        with pytest.raises(SuiteError, match="export folder must be new or empty"):
            export_suite(session, suite.id, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old.jsonl"]


def test_exported_lines_are_project_items(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        suite = import_suite(session, mixed_folder(tmp_path / "suite"), "mixed")
        export_suite(session, suite.id, tmp_path / "out")
    rows = [json.loads(line) for line in (tmp_path / "out" / "Med-Exam.jsonl").read_text().splitlines()]
    assert rows[0]["question"] == "首选药物是" and rows[0]["options"] == {"A": "甲", "B": "乙"}
    assert rows[1]["answer"] is None
