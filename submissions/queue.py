"""Queue state changes, each recorded with who, when and why. The only place that writes Submission.state."""
from __future__ import annotations

from sqlmodel import Session

from common.timeutil import utcnow
from submissions.states import check_transition
from submissions.tables import Submission, SubmissionEvent


def set_state(
    session: Session,
    submission: Submission,
    to_state: str,
    *,
    actor_name: str = "system",
    actor_id: int | None = None,
    reason: str | None = None,
) -> Submission:
    """Move ``submission`` to ``to_state`` (validated) and record the event; the caller commits."""
    check_transition(submission.state, to_state)
    session.add(SubmissionEvent(submission_id=submission.id, from_state=submission.state, to_state=to_state,
                                actor_id=actor_id, actor_name=actor_name, reason=reason))
    submission.state = to_state
    if reason is not None:
        submission.reason = reason
    submission.updated_at = utcnow()
    session.add(submission)
    return submission
