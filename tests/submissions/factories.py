"""Rows for tests that start past the hub: a model entry and submission in a given state, a run for it.

Why not mocks: these are the real tables; only the hub check is skipped where a test is about what comes after.
"""
from __future__ import annotations

import itertools

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluator.tables import EvalRun, Suite
from submissions.tables import ModelEntry, Submission, SubmissionEvent

_counter = itertools.count(1)


def add_submission(engine: Engine, submitter_id: int | None, *, state: str = "submitted", hub_id: str | None = None,
                   needs_remote_code: bool = False, reason: str | None = None) -> int:
    n = next(_counter)
    with Session(engine) as s:
        model = ModelEntry(hub_id=hub_id or f"org/model-{n}", commit_sha=f"{n:040x}", params=1000 * n,
                           license="apache-2.0", needs_remote_code=needs_remote_code)
        s.add(model)
        s.flush()
        sub = Submission(model_id=model.id, submitter_id=submitter_id, contact="x@example.org", state=state,
                         reason=reason)
        s.add(sub)
        s.flush()
        s.add(SubmissionEvent(submission_id=sub.id, to_state=state, actor_name="test"))
        s.commit()
        return sub.id


def add_run(engine: Engine, submission_id: int, *, status: str = "running", done: int = 0, total: int = 0,
            eta: float | None = None, error: str | None = None) -> int:
    with Session(engine) as s:
        suite = s.exec(select(Suite)).first()
        if suite is None:
            suite = Suite(name="t", version="v-test", active=True)
            s.add(suite)
            s.flush()
        sub = s.get(Submission, submission_id)
        run = EvalRun(submission_id=submission_id, model_id=sub.model_id, suite_id=suite.id,
                      suite_version=suite.version, evaluator_version="test", status=status, progress_done=done,
                      progress_total=total, eta_seconds=eta, error_public=error)
        s.add(run)
        s.commit()
        return run.id
