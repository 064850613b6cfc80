"""What the organizers' Runs page reads and does: runs with their progress and lease, one run's log, traceback and
spec, and cancelling a run (checked against the organizer role and written to the audit log).

Kept apart from the page so the page holds no queries, and apart from ``leases`` (the worker's side of the same
rows), which knows nothing about users.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from common.db import get_engine
from common.timeutil import utcnow
from evaluator.ops.leases import as_utc, request_cancel
from evaluator.tables import EvalRun
from submissions.accounts import require_organizer
from submissions.audit import record_action
from submissions.tables import ModelEntry

RUN_STATUSES = ("pending", "running", "finished", "failed", "cancelled")
ACTIVE_STATUSES = ("pending", "running")


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table."""

    id: int
    model: str
    submission_id: int | None
    status: str
    progress_done: int
    progress_total: int
    eta_seconds: float | None
    attempts: int
    lease_owner: str | None
    heartbeat_age_s: float | None  # seconds since the worker's last heartbeat (running runs)
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_public: str | None

    @property
    def can_cancel(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class RunDetail:
    """Everything an organizer needs to understand one run."""

    row: RunRow
    progress_detail: dict[str, list[int]]
    log: str
    error_detail: str | None
    run_spec: dict[str, Any]  # what determines the numbers
    execution_spec: dict[str, Any]  # how it ran: backend, device, tensor parallelism, batch policy, placement
    environment: dict[str, Any]
    suite_version: str
    evaluator_version: str


def _row(run: EvalRun, model: str) -> RunRow:
    heartbeat = as_utc(run.heartbeat_at)
    age = (utcnow() - heartbeat).total_seconds() if heartbeat is not None and run.status == "running" else None
    return RunRow(run.id, model, run.submission_id, run.status, run.progress_done, run.progress_total,
                  run.eta_seconds, run.attempts, run.lease_owner, age, run.cancel_requested, run.created_at,
                  run.started_at, run.finished_at, run.error_public)


def list_runs(statuses: Sequence[str] = RUN_STATUSES, *, limit: int = 200, engine: Engine | None = None) -> list[RunRow]:
    """Runs in ``statuses``, newest first (at most ``limit``)."""
    with Session(engine or get_engine()) as session:
        rows = session.exec(
            select(EvalRun, ModelEntry.hub_id).join(ModelEntry, ModelEntry.id == EvalRun.model_id, isouter=True)
            .where(col(EvalRun.status).in_(list(statuses))).order_by(col(EvalRun.id).desc()).limit(limit)
        ).all()
    return [_row(run, hub_id or "?") for run, hub_id in rows]


def get_run_detail(run_id: int, *, engine: Engine | None = None) -> RunDetail | None:
    with Session(engine or get_engine()) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            return None
        model = session.get(ModelEntry, run.model_id) if run.model_id else None
        run_spec, execution_spec = run.specs()
        return RunDetail(_row(run, model.hub_id if model else "?"), dict(run.progress_detail or {}), run.log or "",
                         run.error_detail, run_spec, execution_spec, dict(run.environment or {}), run.suite_version,
                         run.evaluator_version)


def cancel_run(actor_id: int | None, run_id: int, *, engine: Engine | None = None) -> str:
    """An organizer cancels a run; returns what happened. Raises NotAuthorized (not an organizer) or LeaseError
    (unknown or ended run); either way nothing changes."""
    engine = engine or get_engine()
    with Session(engine) as session:
        actor = require_organizer(session, actor_id)
        actor_name = actor.username
    message = request_cancel(engine, run_id, actor_name=actor_name)
    with Session(engine) as session:
        actor = session.get(type(actor), actor_id)
        status = session.get(EvalRun, run_id).status  # type: ignore[union-attr]
        record_action(session, actor=actor, action="cancel_run", target_type="run", target_id=run_id,
                      before={"cancel_requested": False}, after={"cancel_requested": True, "status": status})
        session.commit()
    return message
