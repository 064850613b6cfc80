"""Queue states and the transitions allowed between them.

submitted -> approved | rejected; approved -> pending (a run was queued) | failed (no run can be made on the
active suite, e.g. it holds none of the run's tasks); pending -> running; running -> finished | failed |
cancelled; re-run: finished | failed | cancelled -> approved. Organizers may cancel anything not yet ended.
"""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


ENDED = frozenset({State.REJECTED, State.FINISHED, State.FAILED, State.CANCELLED})

ALLOWED: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.APPROVED, State.REJECTED, State.CANCELLED}),
    State.APPROVED: frozenset({State.PENDING, State.FAILED, State.REJECTED, State.CANCELLED}),
    State.PENDING: frozenset({State.RUNNING, State.FAILED, State.CANCELLED, State.APPROVED}),
    State.RUNNING: frozenset({State.FINISHED, State.FAILED, State.CANCELLED, State.PENDING}),
    State.FINISHED: frozenset({State.APPROVED}),
    State.FAILED: frozenset({State.APPROVED}),
    State.CANCELLED: frozenset({State.APPROVED}),
    State.REJECTED: frozenset({State.SUBMITTED}),
}


class TransitionError(ValueError):
    """A state change that the queue does not allow; the message says which."""


def check_transition(current: str, target: str) -> None:
    cur, tgt = State(current), State(target)
    if tgt not in ALLOWED[cur]:
        raise TransitionError(f"cannot move a submission from {cur.value} to {tgt.value}")
