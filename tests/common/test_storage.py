"""The storage layer on both databases: migrations, round-trips, constraints, configuration errors."""
from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.db import DatabaseConfigError, all_metadata, make_engine, session_scope, upgrade
from evaluator.tables import EvalRun, ItemResult, Suite, SuiteItem
from submissions.tables import ModelEntry, Submission, User


def test_migrations_from_empty_match_models(any_engine) -> None:
    """A database migrated from empty has exactly the schema the models declare (no drift)."""
    with any_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), all_metadata())
    assert diff == []
    tables = set(inspect(any_engine).get_table_names())
    assert {"models", "submissions", "eval_runs", "item_results", "suites", "audit_log"} <= tables


def test_upgrade_is_idempotent(any_engine) -> None:
    upgrade(any_engine)
    upgrade(any_engine)
    with any_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


def test_round_trip_and_constraints(any_engine) -> None:
    with session_scope(any_engine) as s:
        user = User(username="alice", password_hash="x")
        model = ModelEntry(hub_id="org/m", commit_sha="a" * 40, params=7_000_000_000, card_data={"license": "mit"})
        s.add(user)
        s.add(model)
        s.flush()
        s.add(Submission(model_id=model.id, submitter_id=user.id))
        suite = Suite(name="demo", version="v1")
        s.add(suite)
        s.flush()
        item = SuiteItem(suite_id=suite.id, task="Med-Exam", item_key="q1", data={"question": "问题", "options": {"A": "甲"}})
        s.add(item)
        s.flush()
        run = EvalRun(model_id=model.id, suite_id=suite.id, suite_version="v1", evaluator_version="t",
                      run_spec={"seed": 1234, "k": 5})
        s.add(run)
        s.flush()
        s.add(ItemResult(run_id=run.id, item_id=item.id, task="Med-Exam", dimension="knowledge", prompt="提示",
                         permutation=["B", "A"], parsed_answer=["A"], letter_scores={"A": -0.1}, correct=True))
    with Session(any_engine) as s:
        got = s.exec(select(ItemResult)).one()
        assert got.permutation == ["B", "A"] and got.parsed_answer == ["A"] and got.prompt == "提示"
        assert s.exec(select(ModelEntry)).one().params == 7_000_000_000
        assert s.exec(select(EvalRun)).one().run_spec == {"seed": 1234, "k": 5}
        assert s.exec(select(SuiteItem)).one().data["question"] == "问题"
    # the same (run, item, order) can never be stored twice
    with pytest.raises(IntegrityError):
        with session_scope(any_engine) as s:
            s.add(ItemResult(run_id=got.run_id, item_id=got.item_id, order_index=0, task="Med-Exam",
                             dimension="knowledge", prompt="again"))
    # foreign keys are enforced on both databases
    with pytest.raises(IntegrityError):
        with session_scope(any_engine) as s:
            s.add(Submission(model_id=999_999))


def test_sqlite_runs_in_wal_with_foreign_keys(engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "Unsupported database 'mysql'"),
        ("postgresql://user:secret@127.0.0.1:1/x", "Cannot connect to database"),
    ],
)
def test_bad_database_url_is_one_clear_line(url: str, fragment: str) -> None:
    with pytest.raises(DatabaseConfigError) as err:
        make_engine(url)
    assert fragment in str(err.value) and "\n" not in str(err.value) and "secret" not in str(err.value)


def test_cli_bad_database_url_prints_one_line_no_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "cli.py", "init-db"],
        env={"MEDBENCH_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Cannot connect to database"), proc.stderr
    assert "Traceback" not in proc.stderr
