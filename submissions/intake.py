"""Turning a submitter's request into a queued submission: form -> hub checks -> duplicate and rate checks -> rows.

Why the locking: the duplicate check ("this model, SHA and precision exist in any state") and the rate limit
("at most N per submitter per window") are read-then-write decisions, so two requests fired at once could both
pass. They run inside one write transaction that is serialised where it matters:

- SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the reads (others wait, busy timeout).
- PostgreSQL: a transaction-scoped advisory lock on the (model, SHA, precision) key, then ``SELECT ... FOR
  UPDATE`` on the submitter's row; the unique constraint ``uq_model_sha_precision`` stays the last guard.

Order of verdicts: duplicate first (it names the existing entry, the more useful answer), then the rate limit.
The hub check runs before the transaction (network calls never hold a lock) and nothing is written unless every
check passed. A model needing remote code is recorded but held (state ``submitted``) for organizer review; every
other accepted model is approved at once by the system, so the worker picks it up.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from common.db import get_engine
from common.settings import get_settings
from common.timeutil import utcnow
from submissions.checks import HubCheckResult, check_modelscope, check_validity
from submissions.forms import FormError, SubmissionForm, parse_form
from submissions.modelscope import display_id
from submissions.queue import set_state
from submissions.states import State
from submissions.tables import ModelEntry, Submission, SubmissionEvent, User

Status = Literal["accepted", "held", "refused"]


@dataclass
class SubmitOutcome:
    """What happened to one request: ``status``, the sentence to show, and what was checked or created."""

    status: Status
    message: str
    submission_id: int | None = None
    reason: str | None = None  # machine-readable cause of a refusal: form | auth | hub | duplicate | rate_limit
    check: HubCheckResult | None = None
    problems: list[str] | None = None


def submit_model(user_id: int | None, engine: Engine | None = None, **form_values: object) -> SubmitOutcome:
    """Validate, check on the hub and record one submission for the signed-in user ``user_id``."""
    if user_id is None:
        return SubmitOutcome("refused", "Sign in to submit a model; anonymous visitors can browse only.",
                             reason="auth")
    try:
        form = parse_form(**form_values)
    except FormError as exc:
        return SubmitOutcome("refused", "The form has problems: " + "; ".join(exc.problems), reason="form",
                             problems=exc.problems)
    if form.source == "modelscope":
        check = check_modelscope(form.repo_id, form.revision, use_chat_template=form.use_chat_template)
    else:
        check = check_validity(form.hub_id, form.revision, use_chat_template=form.use_chat_template)
    if not check.ok:
        return SubmitOutcome("refused", check.message, reason="hub", check=check)
    return record_submission(user_id, form, check, engine=engine or get_engine())


def _lock_for_decision(session: Session, user_id: int, key: str) -> User | None:
    """Serialise the duplicate and rate-limit decision (see module docstring); returns the locked submitter."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        return session.get(User, user_id)
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode()) - 2**31})
    return session.exec(select(User).where(User.id == user_id).with_for_update()).first()


def _duplicate_message(session: Session, entry: ModelEntry) -> str:
    existing = session.exec(select(Submission).where(Submission.model_id == entry.id)
                            .order_by(col(Submission.id).desc())).first()
    where = (f"submission #{existing.id} (state: {existing.state})" if existing
             else f"model entry #{entry.id}")
    shown = display_id(entry.hub_id) if entry.source == "modelscope" else entry.hub_id
    return (f"{shown} at commit {entry.commit_sha[:12]} in {entry.precision} was already submitted: "
            f"{where}. Each model, commit and precision is evaluated once.")


def record_submission(user_id: int, form: SubmissionForm, check: HubCheckResult, *, engine: Engine) -> SubmitOutcome:
    """Write the ModelEntry and Submission for a checked request, unless duplicate or over the rate limit."""
    if not check.ok or not check.commit_sha:
        raise ValueError("record_submission needs a passed hub check")
    settings = get_settings()
    hub_id = check.hub_id  # canonical spelling from the hub, not as typed
    shown = check.display_id  # modelscope:org/name for ModelScope models
    key = f"{hub_id}\0{check.commit_sha}\0{form.precision}"
    session = Session(engine, expire_on_commit=False)
    try:
        user = _lock_for_decision(session, user_id, key)
        if user is None:
            session.rollback()
            return SubmitOutcome("refused", "Your account no longer exists; sign in again.", reason="auth")
        entry = session.exec(select(ModelEntry).where(
            ModelEntry.hub_id == hub_id, ModelEntry.commit_sha == check.commit_sha,
            ModelEntry.precision == form.precision)).first()
        if entry is not None:
            message = _duplicate_message(session, entry)
            session.rollback()
            return SubmitOutcome("refused", message, reason="duplicate", check=check)
        since = utcnow() - timedelta(days=settings.rate_limit_days)
        recent = session.exec(select(func.count()).select_from(Submission).where(
            Submission.submitter_id == user_id, col(Submission.created_at) >= since)).one()
        if recent >= settings.rate_limit_count:
            session.rollback()
            return SubmitOutcome("refused", f"You have made {recent} submissions in the last "
                                            f"{settings.rate_limit_days} days; the limit is "
                                            f"{settings.rate_limit_count}. Please try again later.",
                                 reason="rate_limit", check=check)
        entry = ModelEntry(hub_id=hub_id, source=check.source, revision=form.revision, commit_sha=check.commit_sha,
                           precision=form.precision, model_type=form.model_type,
                           use_chat_template=form.use_chat_template, params=check.params, license=check.license,
                           needs_remote_code=check.needs_remote_code, card_data=check.card_data)
        session.add(entry)
        session.flush()
        submission = Submission(model_id=entry.id, submitter_id=user_id, contact=form.contact)
        session.add(submission)
        session.flush()
        _record_creation(session, submission, user)
        if check.needs_remote_code:
            status: Status = "held"
            message = (f"Received as submission #{submission.id}: {shown} pinned to {check.commit_sha}. It "
                       "needs remote code, so an organizer reviews it before it runs.")
        else:
            set_state(session, submission, State.APPROVED, actor_name="system", reason="all hub checks passed")
            status = "accepted"
            message = (f"Accepted as submission #{submission.id}: {shown} pinned to {check.commit_sha} "
                       f"({form.precision}). It is queued for evaluation: the Queue page shows its place and progress.")
        session.commit()
        return SubmitOutcome(status, message, submission_id=submission.id, check=check)
    except IntegrityError:
        session.rollback()
        entry = session.exec(select(ModelEntry).where(
            ModelEntry.hub_id == hub_id, ModelEntry.commit_sha == check.commit_sha,
            ModelEntry.precision == form.precision)).first()
        message = _duplicate_message(session, entry) if entry else "This model was submitted at the same moment."
        session.rollback()
        return SubmitOutcome("refused", message, reason="duplicate", check=check)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _record_creation(session: Session, submission: Submission, user: User) -> None:
    """Record the creation as the first event (from nothing to ``submitted``), with who submitted it."""
    session.add(SubmissionEvent(submission_id=submission.id, from_state=None, to_state=State.SUBMITTED,
                                actor_id=user.id, actor_name=user.username, reason="submitted"))


def submissions_left(user_id: int, *, engine: Engine | None = None) -> int:
    """How many more submissions ``user_id`` may make now (for the Submit page's hint)."""
    settings = get_settings()
    since = utcnow() - timedelta(days=settings.rate_limit_days)
    with Session(engine or get_engine()) as session:
        recent = session.exec(select(func.count()).select_from(Submission).where(
            Submission.submitter_id == user_id, col(Submission.created_at) >= since)).one()
    return max(0, settings.rate_limit_count - recent)
