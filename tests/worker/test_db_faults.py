"""A brief database outage mid-run (every connection cut by ``pg_terminate_backend`` while the server stays up) is
retried, not a failed run: on real PostgreSQL the cut run finishes with the same rows as an uninterrupted one.

The cuts are triggered with SQLAlchemy's public event API on the worker's own engine: just before the statement
that stores the run's second chunk, and before the next heartbeat, a second connection terminates every other
backend of the database, so the statement meets a dead connection exactly as it would in an outage.
"""
from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.db import make_engine, upgrade
from common.retry import is_transient
from evaluator.tables import EvalRun, ItemResult, SuiteItem, TaskScore
from evaluator.ops.worker import Worker
from tests.worker.factories import add_model, add_suite, approve, demo_items, runs_of, submission_state, \
    worker_settings

# 16 items per committed chunk on CPU: three chunks, with choice, yes/no and generated answers
SUITE = demo_items("Med-Exam", 30) + demo_items("DrugCA", 2) + demo_items("DDx-basic", 3)


class Cutter:
    """Terminates every other backend of the engine's database before chosen statements."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.inserts = 0
        self.cuts: list[str] = []
        self.lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        with self.lock:
            if statement.startswith("INSERT INTO item_results"):
                self.inserts += 1
                if self.inserts == 2:
                    self.cut("second chunk")
            elif "heartbeat_at" in statement and statement.startswith("UPDATE") and len(self.cuts) == 1:
                self.cut("heartbeat")

    def cut(self, where: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as killer:
            killed = killer.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (self.engine.url.database,)).fetchone()[0]
        assert killed >= 1
        self.cuts.append(where)


def rows(engine: Engine, run_id: int) -> list[tuple]:
    with Session(engine) as session:
        found = session.exec(
            select(SuiteItem.item_key, ItemResult.task, ItemResult.order_index, ItemResult.permutation,
                   ItemResult.prompt, ItemResult.raw_output, ItemResult.letter_scores, ItemResult.status,
                   ItemResult.error_message, ItemResult.parsed_answer, ItemResult.correct, ItemResult.score)
            .join(SuiteItem, SuiteItem.id == ItemResult.item_id).where(ItemResult.run_id == run_id)
            .order_by(SuiteItem.item_key, ItemResult.order_index)).all()
        return [tuple(row) for row in found]


def scores(engine: Engine, run_id: int) -> list[tuple]:
    with Session(engine) as session:
        return [tuple(r) for r in session.exec(select(TaskScore.task, TaskScore.score, TaskScore.n_items)
                                               .where(TaskScore.run_id == run_id).order_by(TaskScore.task)).all()]


def evaluate(engine: Engine, model_path, cutter: Cutter | None = None) -> EvalRun:  # type: ignore[no-untyped-def]
    add_suite(engine, SUITE)
    sub = approve(engine, add_model(engine, "demo/m", params=1, local_path=model_path))
    assert Worker(engine, worker_settings(), owner="w-db").drain() != []
    (run,) = runs_of(engine, sub)
    assert submission_state(engine, sub) == run.status
    return run


def test_a_cut_mid_run_is_retried_and_the_rows_match(pg_server, pg_engine, tiny_models, caplog) -> None:
    reference_engine = make_engine(pg_server.create_database())
    upgrade(reference_engine)
    reference = evaluate(reference_engine, tiny_models["random"])
    assert reference.status == "finished"

    cutter = Cutter(pg_engine)
    with caplog.at_level(logging.WARNING, logger="medbench.db"):
        cut = evaluate(pg_engine, tiny_models["random"], cutter)
    assert cutter.cuts[0] == "second chunk"  # the heartbeat cut also lands when the run outlasts a beat
    assert any("Retrying" in r.getMessage() for r in caplog.records)
    assert (cut.status, cut.error_public, cut.attempts) == ("finished", None, 1)
    assert cut.progress_done == cut.progress_total == reference.progress_total
    assert rows(pg_engine, cut.id) == rows(reference_engine, reference.id)
    assert len(rows(pg_engine, cut.id)) == reference.progress_total
    assert scores(pg_engine, cut.id) == scores(reference_engine, reference.id)
    reference_engine.dispose()


def test_only_connection_faults_count_as_transient(pg_engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pg_engine.connect() as conn:
        try:
            conn.execute(text("SELECT * FROM no_such_table"))
        except DBAPIError as exc:
            assert not is_transient(exc)  # a bad query fails at once, never retried
        else:
            raise AssertionError("the query should fail")
    assert is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))
