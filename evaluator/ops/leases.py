"""Who evaluates which run: claims, leases, heartbeats, hand-backs and endings, safe with several workers.

A worker owns a run while its lease is fresh: ``lease_owner`` names it and ``lease_expires_at`` is pushed forward by
every heartbeat. A worker that dies (kill -9, power loss) stops renewing, so its lease goes stale and another
worker takes the run over and resumes it (execute_run skips the items already committed).

Claiming must never give one run to two workers:

- PostgreSQL: candidates are read with ``SELECT ... FOR UPDATE OF eval_runs SKIP LOCKED`` (a row another worker is
  claiming is skipped, not waited for), then updated in the same transaction.
- SQLite: an atomic conditional ``UPDATE ... WHERE id = ? AND <still claimable>``; SQLite serialises writers, so
  exactly one worker sees ``rowcount == 1``.

Every function that a running evaluation depends on (heartbeat, cancel check, log, hand-back, ending) retries
transient database errors (``common.retry``); each is safe to repeat. Claims are not retried: a failed poll is
simply followed by the next one.

Every status change of a run is mirrored on its submission through ``submissions.queue.set_state`` (the only
writer of ``Submission.state``) in the same transaction, so the queue and the run never disagree.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import case, exists, func, literal, or_, select, true, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from common.retry import retry_transient
from common.timeutil import utcnow
from evaluator.tables import EvalRun
from submissions.queue import set_state
from submissions.states import State, TransitionError, check_transition
from submissions.tables import ModelEntry, Submission

ORDER_KEYS: dict[str, str] = {
    "rerun": "models evaluated before come first",
    "small": "models with fewer parameters come first (unknown size last)",
    "submitted": "older submissions come first",
}
ENDED_STATUSES = frozenset({"finished", "failed", "cancelled"})


class LeaseError(ValueError):
    """A lease operation that cannot be done as asked; the message says why, in one line."""


@dataclass(frozen=True)
class Claim:
    """A run this worker now owns. ``resumed``: taken over from a worker whose lease went stale."""

    run_id: int
    owner: str
    resumed: bool
    attempts: int


@dataclass(frozen=True)
class LeaseStatus:
    """What a heartbeat learned: whether the lease is still ours, and whether an organizer asked to cancel
    (the run's cancel flag, or its submission cancelled or rejected on the moderation page)."""

    held: bool
    cancel_requested: bool


def worker_identity(device: str = "cpu") -> str:
    """A lease owner name that is unique per process and tells organizers where the run is: host:pid:device."""
    return f"{socket.gethostname()}:{os.getpid()}:{device}"


def parse_order(text: str) -> list[str]:
    """The configured claim order (``settings.worker_order``) as a list of keys; unknown keys are an error."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ORDER_KEYS]
    if unknown:
        raise LeaseError(
            f"unknown worker_order key(s) {', '.join(unknown)}; use a comma-separated list of {', '.join(ORDER_KEYS)}"
        )
    if len(set(keys)) != len(keys):
        raise LeaseError(f"worker_order lists a key twice: {text!r}")
    return keys


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes (stored as UTC); PostgreSQL returns aware ones. Make both aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _unheld(now: datetime) -> Any:
    """Runs no live worker holds: waiting, or running under a lease nobody renewed."""
    return or_(EvalRun.status == "pending", (EvalRun.status == "running") & (EvalRun.lease_expires_at < now))


def _claimable(now: datetime, max_attempts: int) -> Any:
    """Runs that are waiting, or running under a lease nobody renewed; not those that exhausted their attempts."""
    return (
        _unheld(now)
        & (EvalRun.attempts < max_attempts)
        & (EvalRun.cancel_requested == False)  # noqa: E712  (SQL expression)
    )


def _order_by(keys: Sequence[str]) -> list[Any]:
    """SQL ordering: runs to resume first, then organizer priority, then the configured keys, then age."""
    earlier = aliased(EvalRun)
    clauses: list[Any] = [case((EvalRun.status == "running", 0), else_=1),
                          func.coalesce(Submission.priority, EvalRun.priority).desc()]  # an organizer's live change
    for key in keys:
        if key == "rerun":
            seen_before = exists().where(earlier.model_id == EvalRun.model_id, earlier.id < EvalRun.id)
            clauses.append(case((seen_before, 0), else_=1))
        elif key == "small":
            clauses += [case((ModelEntry.params.is_(None), 1), else_=0), ModelEntry.params]
        elif key == "submitted":
            clauses.append(func.coalesce(Submission.created_at, EvalRun.created_at))
    clauses.append(EvalRun.id)
    return clauses


def _fits(max_weight_bytes: int | None):  # type: ignore[no-untyped-def]
    """Runs whose model weights fit this worker's device memory (unknown sizes are tried: loading tells)."""
    if max_weight_bytes is None:
        return true()
    weight_bytes = ModelEntry.params * case((ModelEntry.precision == "float32", 4), else_=2)
    return or_(ModelEntry.params.is_(None), weight_bytes <= max_weight_bytes)


def _candidates(session: Session, now: datetime, keys: Sequence[str], max_attempts: int, *, lock: bool,
                limit: int, max_weight_bytes: int | None = None) -> list[int]:
    query = (
        select(EvalRun.id)
        .outerjoin(ModelEntry, ModelEntry.id == EvalRun.model_id)
        .outerjoin(Submission, Submission.id == EvalRun.submission_id)
        .where(_claimable(now, max_attempts), _fits(max_weight_bytes))
        .order_by(*_order_by(keys))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(of=EvalRun, skip_locked=True)
    return list(session.execute(query).scalars())


_RUN_HELD_STATES = frozenset({State.PENDING, State.RUNNING})  # the submission states a run puts it in


def _mirror(session: Session, run_id: int, submission_id: int | None, to_state: State,
            reason: str | None = None) -> None:
    """Move the run's submission to ``to_state`` (the caller commits), but only while the submission still
    belongs to this run: it is pending or running, and this is its latest run.

    Why: an organizer may decide while a worker is still busy (cancel, then re-run a few seconds later: the
    submission is approved again, or already queued as a newer run). The worker notices the old cancel one chunk
    later; its bookkeeping for the old run must never overwrite that newer decision. Leaving the submission alone
    is noted in the run's log, so organizers see why the two differ."""
    if submission_id is None:
        return
    submission = session.get(Submission, submission_id, with_for_update=session.bind.dialect.name == "postgresql")
    if submission is None or submission.state == to_state:
        return
    latest = session.execute(select(func.max(EvalRun.id)).where(EvalRun.submission_id == submission_id)).scalar()
    if latest != run_id:
        why: str | None = f"run {latest} is its latest"
    elif submission.state not in _RUN_HELD_STATES:
        why = "an organizer changed it meanwhile"
    else:
        try:
            check_transition(submission.state, to_state)
            why = None
        except TransitionError as exc:
            why = str(exc)
    if why is not None:
        session.execute(update(EvalRun).where(EvalRun.id == run_id).values(log=_append_log_clause(
            f"submission #{submission_id} left {submission.state} (not {to_state}): {why}")))
        return
    set_state(session, submission, to_state, actor_name="worker", reason=reason)


def _submission_ended(session: Session, submission_id: int | None) -> str | None:
    """The submission's state when an organizer ended it (so its run must stop), else None."""
    if submission_id is None:
        return None
    state = session.execute(select(Submission.state).where(Submission.id == submission_id)).scalar_one_or_none()
    return state if state in (State.CANCELLED, State.REJECTED) else None


def log_line(text: str) -> str:
    """One timestamped line of a run's log."""
    return f"{utcnow().strftime('%Y-%m-%d %H:%M:%S')} UTC  {text}\n"


def _append_log_clause(text: str) -> Any:
    """``log = log || line`` evaluated by the database, so concurrent writers never lose each other's lines."""
    return func.coalesce(EvalRun.log, literal("")) + literal(log_line(text))


@retry_transient
def append_log(engine: Engine, run_id: int, text: str) -> None:
    """Add one timestamped line to the run's log (shown to organizers on the Runs page)."""
    with Session(engine) as session:
        session.execute(update(EvalRun).where(EvalRun.id == run_id).values(log=_append_log_clause(text)))
        session.commit()


def claim_next_run(engine: Engine, owner: str, *, lease_seconds: float, order: Sequence[str] = ("rerun", "small",
                   "submitted"), max_attempts: int = 3, max_weight_bytes: int | None = None) -> Claim | None:
    """Claim the best claimable run for ``owner`` (pending -> running) and return it; None when nothing waits.

    ``max_weight_bytes``: skip runs whose model weights would not fit this worker's devices, so a queue shared by
    workers with different GPUs gives each model to a worker that can hold it."""
    postgres = engine.dialect.name == "postgresql"
    while True:
        now = utcnow()
        with Session(engine) as session:
            ids = _candidates(session, now, order, max_attempts, lock=postgres, limit=1 if postgres else 8,
                              max_weight_bytes=max_weight_bytes)
            if not ids:
                return None
            for run_id in ids:
                try:
                    claim = _try_claim(session, run_id, owner, now, lease_seconds, max_attempts)
                except _SubmissionBusy:
                    session.rollback()
                    return None  # an organizer is changing its submission right now: the next poll tries again
                if claim is not None:
                    return claim
        # SQLite: every candidate was taken by another worker between our read and our update; look again.
        # PostgreSQL: the candidate was cancelled because its submission had ended; look again.


class _SubmissionBusy(Exception):
    """The run's submission is locked by another transaction (PostgreSQL)."""


def _lock_submission(session: Session, submission_id: int | None, *, skip_locked: bool = False) -> None:
    """On PostgreSQL, lock the run's submission before the run row is changed: the same order as the moderation
    page (submission, then its runs), so the two can never deadlock. SQLite serialises writers anyway."""
    if submission_id is None or session.get_bind().dialect.name != "postgresql":
        return
    locked = session.execute(
        select(Submission.id).where(Submission.id == submission_id).with_for_update(skip_locked=skip_locked)
    ).first()
    if locked is None and skip_locked:
        raise _SubmissionBusy()


def _submission_of(session: Session, run_id: int) -> int | None:
    return session.execute(select(EvalRun.submission_id).where(EvalRun.id == run_id)).scalar_one_or_none()


def held_elsewhere(engine: Engine, owner: str) -> list[int]:
    """Runs in progress under another worker's lease. Why ``--until-idle`` waits for them: that worker may have
    died, and its run is then taken over once the lease expires; exiting first would leave it stranded."""
    with Session(engine) as session:
        return list(session.execute(
            select(EvalRun.id).where(EvalRun.status == "running", EvalRun.lease_owner != owner).order_by(EvalRun.id)
        ).scalars())


def queue_order(engine: Engine, order: Sequence[str] = ("rerun", "small", "submitted"), *,
                max_attempts: int = 3) -> list[int]:
    """Ids of the runs waiting to be claimed, in the order workers will take them (for the Queue page)."""
    with Session(engine) as session:
        return _candidates(session, utcnow(), order, max_attempts, lock=False, limit=10_000)


def _try_claim(session: Session, run_id: int, owner: str, now: datetime, lease_seconds: float,
               max_attempts: int) -> Claim | None:
    before = session.execute(
        select(EvalRun.status, EvalRun.lease_owner, EvalRun.submission_id).where(EvalRun.id == run_id)
    ).one()
    _lock_submission(session, before.submission_id, skip_locked=True)  # we hold the run: never wait here
    ended = _submission_ended(session, before.submission_id)
    if ended:
        session.rollback()
        end_run(session.get_bind(), run_id, None, "cancelled", error_public=f"the submission was {ended}")
        return None
    resumed = before.status == "running"
    result = session.execute(
        update(EvalRun)
        .where(EvalRun.id == run_id, _claimable(now, max_attempts))
        .values(
            status="running",
            lease_owner=owner,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=EvalRun.attempts + 1,
            started_at=func.coalesce(EvalRun.started_at, now),
            eta_seconds=None,
            log=_append_log_clause(
                f"taken over by {owner} (lease of {before.lease_owner} went stale)" if resumed else f"claimed by {owner}"
            ),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        return None
    run = session.execute(select(EvalRun.submission_id, EvalRun.attempts).where(EvalRun.id == run_id)).one()
    _mirror(session, run_id, run.submission_id, State.RUNNING)
    session.commit()
    return Claim(run_id=run_id, owner=owner, resumed=resumed, attempts=run.attempts)


@retry_transient
def renew_lease(engine: Engine, run_id: int, owner: str, *, lease_seconds: float,
                eta_seconds: float | None = None) -> LeaseStatus:
    """The heartbeat: push the lease forward if ``owner`` still holds it, and report a cancel request."""
    now = utcnow()
    with Session(engine) as session:
        values: dict[str, Any] = {"heartbeat_at": now, "lease_expires_at": now + timedelta(seconds=lease_seconds)}
        if eta_seconds is not None:
            values["eta_seconds"] = round(eta_seconds, 1)
        result = session.execute(
            update(EvalRun)
            .where(EvalRun.id == run_id, EvalRun.lease_owner == owner, EvalRun.status == "running")
            .values(**values)
        )
        session.commit()
    return LeaseStatus(held=result.rowcount == 1, cancel_requested=cancel_requested(engine, run_id))


@retry_transient
def cancel_requested(engine: Engine, run_id: int) -> bool:
    """Whether an organizer asked to stop the run (its cancel flag, or its submission cancelled or rejected)."""
    with Session(engine) as session:
        row = session.execute(
            select(EvalRun.cancel_requested, EvalRun.submission_id).where(EvalRun.id == run_id)
        ).one_or_none()
        return bool(row and (row.cancel_requested or _submission_ended(session, row.submission_id)))


@retry_transient
def release_lease(engine: Engine, run_id: int, owner: str, *, note: str) -> bool:
    """Hand a run back to the queue (running -> pending) so any worker resumes it; used on clean shutdown."""
    with Session(engine) as session:
        _lock_submission(session, _submission_of(session, run_id))
        result = session.execute(
            update(EvalRun)
            .where(EvalRun.id == run_id, EvalRun.lease_owner == owner, EvalRun.status == "running")
            .values(status="pending", lease_owner=None, lease_expires_at=None, eta_seconds=None,
                    attempts=EvalRun.attempts - 1,  # a clean hand-back is not a crash: it does not use up an attempt
                    log=_append_log_clause(f"released by {owner}: {note}"))
        )
        if result.rowcount != 1:
            session.rollback()
            return False
        submission_id = session.execute(select(EvalRun.submission_id).where(EvalRun.id == run_id)).scalar_one()
        _mirror(session, run_id, submission_id, State.PENDING, reason=note)
        session.commit()
        return True


@retry_transient
def end_run(engine: Engine, run_id: int, owner: str | None, status: str, *, error_public: str | None = None,
            error_detail: str | None = None, note: str | None = None) -> bool:
    """End a run as finished, failed or cancelled (with its reasons), if ``owner`` still holds it.

    ``owner=None`` ends a run nobody holds (a pending run cancelled by an organizer, a run out of attempts).
    Returns False, changing nothing, when the run is no longer ours to end.
    """
    if status not in ENDED_STATUSES:
        raise LeaseError(f"a run ends as one of {', '.join(sorted(ENDED_STATUSES))}, not {status!r}")
    now = utcnow()
    with Session(engine) as session:
        _lock_submission(session, _submission_of(session, run_id))
        held = (EvalRun.lease_owner == owner) & (EvalRun.status == "running") if owner else _unheld(now)
        result = session.execute(
            update(EvalRun)
            .where(EvalRun.id == run_id, held)
            .values(status=status, lease_owner=None, lease_expires_at=None, eta_seconds=None, finished_at=now,
                    error_public=error_public, error_detail=error_detail,
                    log=_append_log_clause(note or f"{status}" + (f": {error_public}" if error_public else "")))
        )
        if result.rowcount != 1:
            session.rollback()
            return False
        submission_id = session.execute(select(EvalRun.submission_id).where(EvalRun.id == run_id)).scalar_one()
        _mirror(session, run_id, submission_id, State(status), reason=error_public)
        session.commit()
        return True


@retry_transient
def fail_exhausted_runs(engine: Engine, *, max_attempts: int) -> list[int]:
    """End as failed the unheld runs whose workers died ``max_attempts`` times (a model that kills its worker)."""
    with Session(engine) as session:
        ids = list(session.execute(
            select(EvalRun.id).where(_unheld(utcnow()), EvalRun.attempts >= max_attempts)
        ).scalars())
    reason = f"the evaluation stopped unexpectedly {max_attempts} times (worker crash or out of memory)"
    return [run_id for run_id in ids if end_run(engine, run_id, None, "failed", error_public=reason)]


def request_cancel(engine: Engine, run_id: int, *, actor_name: str) -> str:
    """An organizer's cancel: a pending run ends at once; a running one is flagged and its worker stops it within
    a heartbeat. Returns what happened, in one line; raises LeaseError for an unknown or already ended run."""
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise LeaseError(f"run {run_id} does not exist")
        status = run.status
    if status in ENDED_STATUSES:
        raise LeaseError(f"run {run_id} has already ended ({status}); nothing to cancel")
    reason = f"cancelled by {actor_name}"
    if status == "pending" and end_run(engine, run_id, None, "cancelled", error_public=reason, note=reason):
        return f"run {run_id} cancelled before it started"
    with Session(engine) as session:
        flagged = flag_cancel(session, [run_id], actor_name=actor_name)
        session.commit()
    if flagged != [run_id]:
        raise LeaseError(f"run {run_id} ended before the cancel arrived")
    return f"run {run_id}: cancel requested; its worker stops it within seconds"


def flag_cancel(session: Session, run_ids: list[int], *, actor_name: str) -> list[int]:
    """Flag the runs among ``run_ids`` that are still pending or running for cancel, inside the caller's
    transaction (moderation cancels a submission and its runs in one), and log who asked; returns the flagged ids.
    The only writer of ``EvalRun.cancel_requested``: each run's worker sees the flag at its next heartbeat."""
    if not run_ids:
        return []
    live = EvalRun.id.in_(run_ids) & EvalRun.status.in_(["pending", "running"])
    flagged = sorted(session.execute(select(EvalRun.id).where(live)).scalars())
    session.execute(update(EvalRun).where(live).values(
        cancel_requested=True, log=_append_log_clause(f"cancel requested by {actor_name}")))
    return flagged


@retry_transient
def end_cancelled_orphans(engine: Engine, *, actor_name: str = "worker") -> list[int]:
    """Runs flagged for cancel whose lease went stale (their worker died): end them as cancelled now."""
    now = utcnow()
    with Session(engine) as session:
        ids = list(session.execute(
            select(EvalRun.id).where(EvalRun.cancel_requested == True, _unheld(now))  # noqa: E712
        ).scalars())
    return [run_id for run_id in ids
            if end_run(engine, run_id, None, "cancelled", error_public="cancelled by an organizer",
                       note=f"cancelled (found by {actor_name} after its worker stopped)")]


def claim_rescore(engine: Engine, owner: str, current_version: str, *, lease_seconds: float) -> int | None:
    """Take one finished run scored by another evaluator version for re-scoring; None when there is none.

    The run stays ``finished`` (the leaderboard keeps showing it); the lease only keeps two workers from
    re-scoring it at once.
    """
    now = utcnow()
    postgres = engine.dialect.name == "postgresql"
    outdated = (
        (EvalRun.status == "finished")
        & (EvalRun.evaluator_version != current_version)
        & or_(EvalRun.lease_owner.is_(None), EvalRun.lease_expires_at < now)
    )
    with Session(engine) as session:
        query = select(EvalRun.id).where(outdated).order_by(EvalRun.id).limit(1 if postgres else 8)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        for run_id in list(session.execute(query).scalars()):
            result = session.execute(
                update(EvalRun).where(EvalRun.id == run_id, outdated)
                .values(lease_owner=owner, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
            if result.rowcount == 1:
                session.commit()
                return run_id
            session.rollback()
    return None


def finish_rescore(engine: Engine, run_id: int, owner: str, new_version: str | None, *, note: str | None = None) -> bool:
    """Record a re-scoring. Success (``new_version`` given): the run's ``evaluator_version`` becomes it and the
    lease is cleared. Failure (None): only the note is logged and the lease is left to expire, so the run is
    retried one lease later rather than in a tight loop."""
    with Session(engine) as session:
        old = session.execute(select(EvalRun.evaluator_version).where(EvalRun.id == run_id)).scalar_one_or_none()
        values: dict[str, Any] = {"log": _append_log_clause(
            note or f"re-scored by {owner} with evaluator {new_version} (was {old})")}
        if new_version is not None:
            values.update(evaluator_version=new_version, lease_owner=None, lease_expires_at=None)
        result = session.execute(
            update(EvalRun).where(EvalRun.id == run_id, EvalRun.lease_owner == owner).values(**values)
        )
        session.commit()
        return result.rowcount == 1


def finished_run_ids(engine: Engine, run_ids: Sequence[int]) -> set[int]:
    """Those of ``run_ids`` that are finished runs (the only ones that can be re-scored)."""
    with Session(engine) as session:
        return set(session.execute(
            select(EvalRun.id).where(EvalRun.id.in_(list(run_ids)), EvalRun.status == "finished")
        ).scalars())


def mark_rescored(engine: Engine, run_id: int, new_version: str, *, actor_name: str) -> None:
    """Record an on-demand re-scoring (``eval rescore RUN``): the evaluator version that scored the run now."""
    with Session(engine) as session:
        old = session.execute(select(EvalRun.evaluator_version).where(EvalRun.id == run_id)).scalar_one()
        session.execute(update(EvalRun).where(EvalRun.id == run_id).values(
            evaluator_version=new_version,
            log=_append_log_clause(f"re-scored by {actor_name} with evaluator {new_version} (was {old})")))
        session.commit()
