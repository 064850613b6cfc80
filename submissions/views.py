"""Read API for pages: the public queue, a submitter's own submissions, the organizers' list and a history.

Pages never query tables themselves; they get plain dataclasses from here (one query per list, the latest run of
each submission joined in Python), so the pages stay free of SQL and the shapes are testable on their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from common.db import session_scope
from evaluator.tables import EvalRun
from submissions.states import State
from submissions.tables import ModelEntry, Submission, SubmissionEvent, User

WAITING = (State.SUBMITTED, State.APPROVED, State.PENDING)


@dataclass(frozen=True)
class SubmissionRow:
    """One submission with its model and its latest run, as every page shows it."""

    submission_id: int
    model_id: int
    hub_id: str
    revision: str
    commit_sha: str
    precision: str
    model_type: str
    state: str
    reason: str | None
    submitter: str | None
    contact: str | None
    submitted_at: datetime
    updated_at: datetime | None
    params: int | None
    license: str | None
    needs_remote_code: bool
    allow_remote_code: bool
    hidden: bool
    flag_reason: str | None
    run_id: int | None = None
    run_status: str | None = None  # the latest run's status (pending, running, finished, failed, cancelled)
    cancel_requested: bool = False  # an organizer asked the latest run to stop; its worker has not yet
    progress_done: int = 0
    progress_total: int = 0
    eta_seconds: float | None = None
    error_public: str | None = None
    card_data: dict[str, Any] = field(default_factory=dict)
    is_demo: bool = False
    task_progress: dict[str, tuple[int, int]] = field(default_factory=dict)  # {task: (done, total)} of the run

    @property
    def progress(self) -> float:
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    @property
    def cancelling(self) -> bool:
        """Cancelled by an organizer (on the Moderation or Runs page) while its run still computes: the worker
        stops it after the current chunk. Until then it is shown as running, not as if nothing ran."""
        return self.run_status == "running" and (self.cancel_requested or self.state == State.CANCELLED)

    @property
    def tasks_done(self) -> int:
        """Tasks whose every (question, option order) has an answer: a coarser, steadier measure than rows."""
        return sum(1 for done, total in self.task_progress.values() if total and done >= total)


@dataclass(frozen=True)
class QueueOverview:
    waiting: list[SubmissionRow]
    running: list[SubmissionRow]
    failed: list[SubmissionRow]
    finished: list[SubmissionRow]  # recently finished, newest first
    cancelled: list[SubmissionRow]  # recently cancelled (their runs stopped), newest first


def _rows(session: Session, query: Any) -> list[SubmissionRow]:
    found = session.exec(query).all()
    ids = [sub.id for sub, _, _ in found]
    latest: dict[int, EvalRun] = {}
    if ids:
        for run in session.exec(select(EvalRun).where(col(EvalRun.submission_id).in_(ids)).order_by(EvalRun.id)):
            latest[run.submission_id] = run  # ordered by id: the last one wins
    rows = []
    for sub, model, user in found:
        run = latest.get(sub.id)
        rows.append(SubmissionRow(
            submission_id=sub.id, model_id=model.id, hub_id=model.hub_id, revision=model.revision, commit_sha=model.commit_sha,
            precision=model.precision, model_type=model.model_type, state=sub.state, reason=sub.reason,
            submitter=user.username if user else None, contact=sub.contact, submitted_at=sub.created_at,
            updated_at=sub.updated_at, params=model.params, license=model.license,
            needs_remote_code=model.needs_remote_code, allow_remote_code=model.allow_remote_code,
            hidden=model.hidden, flag_reason=model.flag_reason,
            run_id=run.id if run else None, run_status=run.status if run else None,
            cancel_requested=bool(run and run.cancel_requested), progress_done=run.progress_done if run else 0,
            progress_total=run.progress_total if run else 0, eta_seconds=run.eta_seconds if run else None,
            error_public=run.error_public if run else None, card_data=dict(model.card_data or {}),
            is_demo=model.is_demo, task_progress=_task_progress(run)))
    return rows


def _task_progress(run: EvalRun | None) -> dict[str, tuple[int, int]]:
    """The run's ``progress_detail`` ({task: [done, total]}) as tuples; malformed entries are left out."""
    detail = run.progress_detail if run is not None and isinstance(run.progress_detail, dict) else {}
    return {task: (int(pair[0]), int(pair[1])) for task, pair in detail.items()
            if isinstance(pair, (list, tuple)) and len(pair) == 2}


def _base_query() -> Any:
    return (select(Submission, ModelEntry, User)
            .join(ModelEntry, col(ModelEntry.id) == Submission.model_id)
            .outerjoin(User, col(User.id) == Submission.submitter_id))


def queue_overview(*, ended_limit: int = 20, engine: Engine | None = None) -> QueueOverview:
    """The public queue: waiting (oldest first), running (cancelling ones too: their run still computes),
    recently failed, finished and cancelled (newest first); hidden models left out."""
    states = [*WAITING, State.RUNNING, State.FAILED, State.FINISHED, State.CANCELLED]
    query = (_base_query().where(col(Submission.state).in_(states), col(ModelEntry.hidden).is_(False))
             .order_by(col(Submission.priority).desc(), col(Submission.created_at), col(Submission.id)))
    with session_scope(engine) as session:
        rows = _rows(session, query)
    running = [r for r in rows if r.state == State.RUNNING or (r.state == State.CANCELLED and r.cancelling)]
    still_running = {r.submission_id for r in running}

    def recent(state: State) -> list[SubmissionRow]:
        ended = (r for r in rows if r.state == state and r.submission_id not in still_running)
        return sorted(ended, key=lambda r: r.updated_at or r.submitted_at, reverse=True)[:ended_limit]

    return QueueOverview(waiting=[r for r in rows if r.state in WAITING], running=running,
                         failed=recent(State.FAILED), finished=recent(State.FINISHED),
                         cancelled=recent(State.CANCELLED))


def submissions_of(user_id: int, *, engine: Engine | None = None) -> list[SubmissionRow]:
    """A submitter's own submissions, newest first (hidden ones included: they are the submitter's)."""
    query = _base_query().where(Submission.submitter_id == user_id).order_by(col(Submission.id).desc())
    with session_scope(engine) as session:
        return _rows(session, query)


def all_submissions(states: Iterable[str] | None = None, search: str = "", *, ids: Iterable[int] | None = None,
                    limit: int = 500, engine: Engine | None = None) -> list[SubmissionRow]:
    """For organizers: every submission (hidden included), newest first, optionally filtered by state, model id
    text or submission ids (``ids=[]`` matches none)."""
    query = _base_query()
    states = list(states or [])
    if states:
        query = query.where(col(Submission.state).in_(states))
    if ids is not None:
        query = query.where(col(Submission.id).in_(list(ids)))
    if search.strip():
        # autoescape: % and _ in the search text are matched literally, not as LIKE wildcards
        query = query.where(col(ModelEntry.hub_id).contains(search.strip(), autoescape=True))
    query = query.order_by(col(Submission.id).desc()).limit(limit)
    with session_scope(engine) as session:
        return _rows(session, query)


def history(submission_id: int, *, engine: Engine | None = None) -> list[SubmissionEvent]:
    """Every state change of one submission: who, when, why (oldest first)."""
    with session_scope(engine) as session:
        return list(session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == submission_id)
                                 .order_by(SubmissionEvent.id)))


def format_eta(seconds: float | None) -> str:
    """'3 min', '1 h 05 min' or '' for display."""
    if seconds is None or seconds < 0:
        return ""
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
