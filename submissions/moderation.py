"""Organizer actions on submissions and their models, each audited (who, when, what, before -> after).

Every action, single or bulk, is one transaction: the organizer role is re-read from the database, every target
is validated, and only if all of them can take the action is anything written (state changes through
``submissions.queue.set_state``, audit rows beside them). A bad request changes nothing and says why, per target.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.db import session_scope
from evaluator.ops.leases import flag_cancel
from evaluator.tables import EvalRun
from submissions.accounts import require_organizer
from submissions.audit import record_action
from submissions.queue import set_state
from submissions.states import ENDED, State
from submissions.tables import ModelEntry, Submission, User

MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class ActionSpec:
    label: str
    needs_reason: bool
    apply: Callable[[Session, User, Submission, ModelEntry, str | None], str]  # returns what it did


class ModerationError(ValueError):
    """The action cannot be applied; ``problems`` has one line per refused target. Nothing was changed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _audit_state(session: Session, actor: User, action: str, sub: Submission, to: State, reason: str | None) -> str:
    before = {"state": sub.state, "reason": sub.reason}
    set_state(session, sub, to, actor_name=actor.username, actor_id=actor.id, reason=reason)
    record_action(session, actor=actor, action=action, target_type="submission", target_id=sub.id, before=before,
                  after={"state": sub.state, "reason": sub.reason})
    return f"#{sub.id}: {before['state']} -> {sub.state}"


def _audit_model(session: Session, actor: User, action: str, model: ModelEntry, **changes: object) -> str:
    before = {k: getattr(model, k) for k in changes}
    for key, value in changes.items():
        setattr(model, key, value)
    session.add(model)
    record_action(session, actor=actor, action=action, target_type="model", target_id=model.id, before=before,
                  after=dict(changes))
    return f"model #{model.id} {model.hub_id}: {action}"


def _approve(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if sub.state != State.SUBMITTED:
        raise ValueError(f"is {sub.state}; only submitted ones can be approved")
    if model.needs_remote_code and not model.allow_remote_code:
        raise ValueError(f"needs remote code: review commit {model.commit_sha} and use 'allow remote code'")
    return _audit_state(session, actor, "approve", sub, State.APPROVED, reason or "approved by an organizer")


def _reject(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if sub.state not in (State.SUBMITTED, State.APPROVED):
        raise ValueError(f"is {sub.state}; only submitted or approved ones can be rejected (cancel a queued run)")
    return _audit_state(session, actor, "reject", sub, State.REJECTED, reason)


def _rerun(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if sub.state not in (State.FINISHED, State.FAILED, State.CANCELLED):
        raise ValueError(f"is {sub.state}; only finished, failed or cancelled ones can be re-run")
    if model.needs_remote_code and not model.allow_remote_code:
        raise ValueError("needs remote code that is not allowed")
    return _audit_state(session, actor, "rerun", sub, State.APPROVED, reason or "re-run requested")


def _cancel(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if sub.state in ENDED:
        raise ValueError(f"has already ended ({sub.state})")
    run_ids = list(session.exec(select(EvalRun.id).where(EvalRun.submission_id == sub.id)))
    runs = flag_cancel(session, run_ids, actor_name=actor.username)  # the evaluator's one cancel path
    done = _audit_state(session, actor, "cancel", sub, State.CANCELLED, reason or "cancelled by an organizer")
    if runs:
        record_action(session, actor=actor, action="cancel_run", target_type="run", target_id=runs[0],
                      before={"cancel_requested": False}, after={"cancel_requested": True, "runs": runs})
    return done


def _flag(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    return _audit_model(session, actor, "flag", model, flag_reason=reason)


def _unflag(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if not model.flag_reason:
        raise ValueError("is not flagged")
    return _audit_model(session, actor, "unflag", model, flag_reason=None)


def _hide(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if model.hidden:
        raise ValueError("is already hidden")
    return _audit_model(session, actor, "hide", model, hidden=True)


def _unhide(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if not model.hidden:
        raise ValueError("is not hidden")
    return _audit_model(session, actor, "unhide", model, hidden=False)


def _allow_remote_code(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
    if not model.needs_remote_code:
        raise ValueError("does not need remote code")
    done = [] if model.allow_remote_code else [
        _audit_model(session, actor, "allow_remote_code", model, allow_remote_code=True)]
    if sub.state == State.SUBMITTED:
        done.append(_audit_state(session, actor, "approve", sub, State.APPROVED,
                                 reason or f"remote code allowed for commit {model.commit_sha}"))
    if not done:
        raise ValueError("remote code is already allowed and the submission is not waiting")
    return "; ".join(done)


def _reasoning(value: bool | None) -> Callable[[Session, User, Submission, ModelEntry, str | None], str]:
    """An action setting whether the model reasons before answering (None: read it from its chat template).
    Runs created afterwards follow it (their run spec records ``reasoning.source = "organizer"``)."""

    def apply(session: Session, actor: User, sub: Submission, model: ModelEntry, reason: str | None) -> str:
        if model.reasoning is value:
            raise ValueError(f"is already marked {_REASONING_WORDS[value]}")
        return _audit_model(session, actor, "set_reasoning", model, reasoning=value)

    return apply


_REASONING_WORDS = {True: "as a reasoning model", False: "as not reasoning", None: "as read from its chat template"}


ACTIONS: dict[str, ActionSpec] = {
    "approve": ActionSpec("Approve", False, _approve),
    "reject": ActionSpec("Reject (reason required)", True, _reject),
    "allow_remote_code": ActionSpec("Allow remote code for this commit and approve", False, _allow_remote_code),
    "flag": ActionSpec("Flag (reason shown on the leaderboard)", True, _flag),
    "unflag": ActionSpec("Remove flag", False, _unflag),
    "hide": ActionSpec("Hide from the leaderboard", False, _hide),
    "unhide": ActionSpec("Unhide", False, _unhide),
    "rerun": ActionSpec("Re-run", False, _rerun),
    "cancel": ActionSpec("Cancel (stops a running evaluation)", False, _cancel),
    "reasoning_on": ActionSpec("Mark as a reasoning model (thinks before answering)", False, _reasoning(True)),
    "reasoning_off": ActionSpec("Mark as not reasoning", False, _reasoning(False)),
    "reasoning_auto": ActionSpec("Reasoning: read it from the chat template", False, _reasoning(None)),
}


def moderate(actor_id: int | None, action: str, submission_ids: list[int], reason: str | None = None, *,
             engine: Engine | None = None) -> list[str]:
    """Apply ``action`` to every submission in ``submission_ids`` (all or nothing); returns one line per change.

    Raises NotAuthorized when the actor is not an organizer, ModerationError for anything else wrong.
    """
    spec = ACTIONS.get(action)
    if spec is None:
        raise ModerationError([f"Unknown action {action!r}; choose one of: {', '.join(ACTIONS)}."])
    reason = (reason or "").strip() or None
    ids = list(dict.fromkeys(submission_ids))
    with session_scope(engine) as session:
        actor = require_organizer(session, actor_id)
        if not ids:
            raise ModerationError(["Select at least one submission."])
        if spec.needs_reason and not reason:
            raise ModerationError([f"{spec.label.split(' (')[0]} needs a reason; it is shown to the submitter."])
        if reason and len(reason) > MAX_REASON_LENGTH:
            raise ModerationError([f"The reason is longer than {MAX_REASON_LENGTH} characters."])
        problems, done = [], []
        for sub_id in ids:
            sub = session.get(Submission, sub_id, with_for_update=session.get_bind().dialect.name != "sqlite")
            if sub is None:
                problems.append(f"#{sub_id}: no such submission")
                continue
            model = session.get(ModelEntry, sub.model_id)
            assert model is not None
            try:
                done.append(spec.apply(session, actor, sub, model, reason))
            except ValueError as exc:
                problems.append(f"#{sub_id} ({model.hub_id}): {exc}")
        if problems:
            raise ModerationError(problems)  # session_scope rolls everything back
        return done
