"""Identities: local accounts (argon2 password hashes), OIDC sign-ins mapped to users, and the organizer role.

Local accounts are the embedded default; when ``.streamlit/secrets.toml`` has an ``[auth]`` section, people can
also sign in through ``st.login`` (OIDC, e.g. Hugging Face) and :func:`user_from_oidc` maps the identity to a
row of ``users``. User names are unique regardless of case (``users.username_lower``) and found regardless of
case. The organizer role is granted only by an operator (``python cli.py users create-user --organizer`` or
``grant-organizer``) or by another organizer, always audited: never by a name in the settings, which anyone
could claim by signing up first. Passwords follow ``submissions.passwords``; sign-ins are throttled by
``submissions.throttle``. Changing, resetting and deleting accounts: ``submissions.account_changes``.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from common.db import session_scope
from submissions import throttle
from submissions.audit import CLI, record_action
from submissions.forms import EMAIL_RE
from submissions.passwords import password_problem
from submissions.tables import User

# Latin letters and digits, and Chinese characters (CJK Unified Ideographs: 张医生) for a Chinese audience
USERNAME_RE = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_.\-]{2,63}$")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A refused account operation; the message is meant for the person who asked."""


class NotAuthorized(PermissionError):
    """The actor lacks the organizer role for this action."""


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError("User name: 3 to 64 characters: Latin letters (a-z), digits, Chinese characters, '.', '_' "
                           "or '-', starting with a letter, digit or Chinese character.")
    return username


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username`` in any case. A database from before names were case-insensitive may hold
    several spellings (see ``account_changes.duplicate_names``): the exact spelling wins, then the oldest."""
    name = (username or "").strip()
    return session.exec(select(User).where(func.lower(User.username) == name.lower())
                        .order_by(case((col(User.username) == name, 0), else_=1), col(User.id))).first()


def hash_password(password: str, *, username: str, email: str | None = None) -> str:
    """The argon2 hash of a new password; raises AccountError when ``submissions.passwords`` refuses it."""
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise AccountError(problem)
    return _hasher.hash(password)


def create_user(username: str, password: str, *, email: str | None = None, organizer: bool = False,
                engine: Engine | None = None) -> User:
    """Create a local account; raises AccountError when the name is taken (in any case) or the password weak.
    ``organizer=True`` is the operator's ``create-user --organizer`` (audited as the CLI's)."""
    username = validate_username(username)
    if email and not EMAIL_RE.match(email):
        raise AccountError("E-mail: not a valid address.")
    password_hash = hash_password(password, username=username, email=email)
    taken = AccountError(f"The user name {username!r} is taken.")
    try:
        with session_scope(engine) as session:
            if find_user(session, username) is not None:
                raise taken
            user = User(username=username, password_hash=password_hash, email=email or None, is_organizer=organizer)
            session.add(user)
            session.flush()
            if organizer:
                record_action(session, actor=None, action="grant_organizer", target_type="user", target_id=user.id,
                              before={"is_organizer": False}, after={"is_organizer": True, "by": "create-user"},
                              unattended=CLI)
            session.flush()
            session.refresh(user)
    except IntegrityError:  # a sign-up with the same name (in any case) committed in between
        raise taken from None
    return user


def check_password(session: Session, user: User | None, password: str, *, attempted_name: str,
                   client: str | None = None) -> bool:
    """Whether ``password`` is ``user``'s, counted by the sign-in throttle: raises AccountError (nothing checked,
    nothing counted) while the account or client is throttled; a wrong password is recorded as a failure in
    ``session`` (the caller commits it)."""
    refused = throttle.refusal(session, attempted_name, client)
    if refused:
        raise AccountError(refused)
    if user is None or not user.password_hash:
        _hasher.hash(password or "x")  # same cost as a real check: no timing oracle for user names
        throttle.record_failure(session, attempted_name, client)
        return False
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        throttle.record_failure(session, attempted_name, client)
        return False
    return True


def authenticate(username: str, password: str, *, client: str | None = None,
                 engine: Engine | None = None) -> User | None:
    """The user whose password matches, or None (same answer for unknown names and wrong passwords). Raises
    AccountError with the wait while the account or the client (``client``: its address) is throttled."""
    with session_scope(engine) as session:
        user = find_user(session, username)
        if not check_password(session, user, password, attempted_name=username, client=client):
            return None
        assert user is not None and user.password_hash
        throttle.clear_account(session, username)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
            session.add(user)
        return user


def user_from_oidc(claims: Mapping[str, Any], *, engine: Engine | None = None) -> User:
    """The user for an OIDC identity (``st.user``): found by issuer+subject, created on first sign-in (never
    with a role: an identity provider's user name proves nothing about who organizes this site)."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise AccountError("The identity provider sent no subject ('sub'); cannot sign in.")
    key = f"{claims.get('iss') or 'oidc'}|{subject}"[:255]
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.oidc_subject == key)).first()
        if user is None:
            base = str(claims.get("preferred_username") or claims.get("nickname")
                       or str(claims.get("email") or "").split("@")[0] or "user")
            base = re.sub(r"[^A-Za-z0-9_.\-]", "-", base).strip("-.")[:56] or "user"
            base = base if len(base) >= 3 else f"{base}-user"
            name, n = base, 1
            while find_user(session, name) is not None:
                n += 1
                name = f"{base}-{n}"
            user = User(username=name, oidc_subject=key, email=claims.get("email"))
            session.add(user)
            session.flush()
            session.refresh(user)
        return user


def get_user(user_id: int | None, *, engine: Engine | None = None) -> User | None:
    if user_id is None:
        return None
    with session_scope(engine) as session:
        return session.get(User, user_id)


def require_organizer(session: Session, actor_id: int | None) -> User:
    """The acting organizer, re-read from the database (a revoked role takes effect at once)."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is None or not actor.is_organizer:
        raise NotAuthorized("Only organizers may do this.")
    return actor


def set_organizer(actor_id: int | None, username: str, value: bool, *, engine: Engine | None = None) -> User:
    """Grant (or revoke) the organizer role; the actor must be an organizer. ``actor_id=None`` is the CLI."""
    with session_scope(engine) as session:
        actor = require_organizer(session, actor_id) if actor_id is not None else None
        user = find_user(session, username)
        if user is None:
            raise AccountError(f"No user named {username.strip()!r}.")
        if actor is not None and actor.id == user.id and not value:
            raise AccountError("You cannot revoke your own organizer role; ask another organizer.")
        if user.is_organizer != value:
            before = {"is_organizer": user.is_organizer}
            user.is_organizer = value
            session.add(user)
            record_action(session, actor=actor, action="grant_organizer" if value else "revoke_organizer",
                          target_type="user", target_id=user.id, before=before,
                          after={"is_organizer": value, "by": actor.username if actor else "cli"}, unattended=CLI)
        session.flush()
        session.refresh(user)
        return user


def list_users(*, engine: Engine | None = None) -> list[User]:
    with session_scope(engine) as session:
        return list(session.exec(select(User).order_by(User.username)))
