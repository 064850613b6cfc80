"""Who may read a suite's items (spec section 8): ``public`` or ``private``, chosen at import, changed by
organizers only, every change audited with its before and after.

Why a property of the suite and not of a page: a private test set stays unseen only if no page, URL, export or
log shows its questions, references, prompts or model outputs; ``evaluator.item_access`` enforces it for every
public page from this one field.
"""
from __future__ import annotations

from sqlmodel import Session

from evaluator.benchmark.suites.problems import SuiteError
from evaluator.tables import Suite
from submissions.audit import CLI, record_action
from submissions.tables import User

PUBLIC, PRIVATE = "public", "private"
VISIBILITIES: tuple[str, ...] = (PRIVATE, PUBLIC)  # the default first
LABELS = {PUBLIC: "public test set · 公开测试集", PRIVATE: "private test set · 非公开测试集"}


def check_visibility(value: str) -> str:
    """``value`` when it is a visibility; else SuiteError with a one-line reason."""
    if value not in VISIBILITIES:
        raise SuiteError([f"visibility must be one of {', '.join(VISIBILITIES)}, got {value!r}"],
                         "bad visibility")
    return value


def set_visibility(session: Session, suite_id: int, visibility: str, *, actor: User | None) -> Suite:
    """Make suite ``suite_id`` public or private, audited (before -> after) in the caller's transaction.

    ``actor`` is the organizer who decided; None is an operator's command (the CLI, on the server). A signed-in
    account that is not an organizer is refused, changing nothing."""
    check_visibility(visibility)
    if actor is not None and not actor.is_organizer:
        raise SuiteError([f"{actor.username} is not an organizer"], "only organizers can change a suite's visibility")
    suite = session.get(Suite, suite_id)
    if suite is None:
        raise SuiteError([f"no suite with id {suite_id}"], "unknown suite")
    if suite.visibility == visibility:
        return suite
    before = suite.visibility
    suite.visibility = visibility
    session.add(suite)
    record_action(session, actor=actor, action="suite.visibility", target_type="suite", target_id=suite.id,
                  before={"visibility": before}, after={"visibility": visibility}, unattended=CLI)
    session.flush()
    return suite
