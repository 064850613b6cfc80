"""Changes to an existing account: a new password (by its owner or the operator), signing out everywhere,
deleting it, and renaming user names that clash by case in a database from before names were case-insensitive.

Deleting an account keeps its submissions and their results (the leaderboard stays complete) but cuts every link
to the person: the submissions lose their submitter and contact, their history names "deleted user", and any
other row pointing at the account (a tag review) drops the reference. The audit log keeps the names it recorded
(it is the organizers' trail) and gets a ``delete_account`` row. Organizers cannot delete their account while they
hold the role.
"""
from __future__ import annotations

from typing import Callable, Iterator, TypeVar

from sqlalchemy import Column, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from common.db import all_metadata, session_scope
from submissions import throttle
from submissions.accounts import AccountError, check_password, find_user, hash_password
from submissions.audit import CLI, record_action
from submissions.tables import AuditLog, SignInToken, Submission, SubmissionEvent, User

T = TypeVar("T")
DELETED_USER = "deleted user"
_USERS = User.__table__  # core access to id and username only (see duplicate_names)


class _WrongPassword(AccountError):
    """A wrong current password: refused, yet its counted failure must be committed (see _run)."""

    def __init__(self) -> None:
        super().__init__("Current password: wrong.")


def _own_account(session: Session, user_id: int, password: str, client: str | None) -> User:
    """The signed-in user, after their current password is checked (throttled like a sign-in)."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("This account no longer exists.")
    if not user.password_hash:
        raise AccountError("This account signs in through an identity provider and has no password here.")
    if not check_password(session, user, password, attempted_name=user.username, client=client):
        raise _WrongPassword()
    return user


def _revoke_tokens(session: Session, user_id: int) -> int:
    """Delete every remembered sign-in of the user (``submissions.remember``); returns how many there were."""
    count = len(session.exec(select(SignInToken.id).where(SignInToken.user_id == user_id)).all())
    session.exec(delete(SignInToken).where(col(SignInToken.user_id) == user_id))
    return count


def _run(engine: Engine | None, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction; a wrong password still commits its counted failure."""
    with session_scope(engine) as session:
        try:
            return work(session)
        except _WrongPassword as exc:
            wrong = exc
    raise wrong


def change_password(user_id: int, current: str, new: str, *, client: str | None = None,
                    engine: Engine | None = None) -> User:
    """Set a new password after checking the current one; every remembered sign-in ends (the caller signs the
    current session in again)."""
    def work(session: Session) -> User:
        user = _own_account(session, user_id, current, client)
        user.password_hash = hash_password(new, username=user.username, email=user.email)
        session.add(user)
        _revoke_tokens(session, user.id)
        session.flush()
        session.refresh(user)
        return user

    return _run(engine, work)


def sign_out_everywhere(user_id: int, *, engine: Engine | None = None) -> int:
    """End every remembered sign-in of the user, in every browser; returns how many ended."""
    with session_scope(engine) as session:
        return _revoke_tokens(session, user_id)


def delete_account(user_id: int, password: str, *, client: str | None = None, engine: Engine | None = None) -> None:
    """Delete the user's own account after checking the password; see the module docstring for what stays."""
    def work(session: Session) -> None:
        user = _own_account(session, user_id, password, client)
        if user.is_organizer:
            raise AccountError("Organizers cannot delete their account; ask another organizer or the operator to "
                               "revoke the role first.")
        kept = session.exec(select(func.count()).select_from(Submission)
                            .where(Submission.submitter_id == user.id)).one()
        session.exec(update(Submission).where(col(Submission.submitter_id) == user.id)
                     .values(submitter_id=None, contact=None))
        session.exec(update(SubmissionEvent).where(col(SubmissionEvent.actor_id) == user.id)
                     .values(actor_id=None, actor_name=DELETED_USER))
        session.exec(update(AuditLog).where(col(AuditLog.actor_id) == user.id).values(actor_id=None))
        for column in _other_references():
            session.execute(update(column.table).where(column == user.id).values({column.name: None}))
        throttle.clear_account(session, user.username)
        record_action(session, actor=None, action="delete_account", target_type="user", target_id=user.id,
                      before={"username": user.username, "submissions": kept},
                      after={"deleted": True, "submissions": f"kept, attributed to {DELETED_USER!r}"},
                      unattended=user.username)
        session.delete(user)  # its remembered sign-ins go with it (ON DELETE CASCADE)

    _run(engine, work)


def _other_references() -> Iterator[Column]:
    """Nullable columns of other tables that point at ``users.id`` (e.g. tag reviews), found from the schema so
    a new table cannot block deletion; the tables handled above and the cascading sign-in tokens are left out."""
    handled = {Submission.__tablename__, SubmissionEvent.__tablename__, AuditLog.__tablename__,
               SignInToken.__tablename__}
    for table in all_metadata().sorted_tables:
        if table.name in handled:
            continue
        for column in table.columns:
            if column.nullable and any(fk.target_fullname == "users.id" for fk in column.foreign_keys):
                yield column


def reset_password(username: str, new: str, *, engine: Engine | None = None) -> User:
    """The operator's reset (``python cli.py users reset-password NAME``): a new password, every remembered
    sign-in ended, the account's failed sign-ins forgotten; audited without anything secret."""
    with session_scope(engine) as session:
        user = find_user(session, username)
        if user is None:
            raise AccountError(f"No user named {username.strip()!r}.")
        user.password_hash = hash_password(new, username=user.username, email=user.email)
        session.add(user)
        ended = _revoke_tokens(session, user.id)
        throttle.clear_account(session, user.username)
        record_action(session, actor=None, action="reset_password", target_type="user", target_id=user.id,
                      before={"remembered_sign_ins": ended}, after={"password": "reset", "remembered_sign_ins": 0},
                      unattended=CLI)
        session.flush()
        session.refresh(user)
        return user


def duplicate_names(*, engine: Engine | None = None) -> list[list[tuple[int, str]]]:
    """Groups of (id, name) whose names differ only in case, oldest first. Only ``users.id`` and ``username`` are
    read, so this also works on a database from before ``username_lower`` existed (which may hold such names)."""
    with session_scope(engine) as session:
        rows = session.execute(select(_USERS.c.id, _USERS.c.username).order_by(_USERS.c.id)).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for user_id, name in rows:
        groups.setdefault(name.lower(), []).append((user_id, name))
    return [group for group in groups.values() if len(group) > 1]


def rename_duplicates(*, engine: Engine | None = None) -> list[tuple[str, str]]:
    """Rename every later account of each clashing group to ``NAME-ID`` (the oldest keeps its name), audited, so
    the case-insensitive rule can be applied. Returns (old, new) pairs: tell those owners their new name."""
    renamed = []
    with session_scope(engine) as session:
        for group in duplicate_names(engine=engine):
            for user_id, name in group[1:]:
                suffix = f"-{user_id}"
                new = name[:64 - len(suffix)] + suffix
                session.execute(update(_USERS).where(_USERS.c.id == user_id).values(username=new))
                record_action(session, actor=None, action="rename_user", target_type="user", target_id=user_id,
                              before={"username": name}, after={"username": new, "by": "duplicate-names"},
                              unattended=CLI)
                renamed.append((name, new))
    return renamed

