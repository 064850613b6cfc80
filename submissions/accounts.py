"""Identities: local accounts (argon2 password hashes), OIDC sign-ins mapped to users, and the organizer role.

Local accounts are the embedded default; when ``.streamlit/secrets.toml`` has an ``[auth]`` section, people can
also sign in through ``st.login`` (OIDC, e.g. Hugging Face) and :func:`user_from_oidc` maps the identity to a
row of ``users``. The organizer role is granted by the CLI, by the ``MEDBENCH_ORGANIZERS`` setting (applied at
sign-in), or by another organizer (audited).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from common.db import session_scope
from common.settings import get_settings
from submissions.audit import CLI, record_action
from submissions.forms import EMAIL_RE
from submissions.tables import User

# Latin letters and digits, and Chinese characters (CJK Unified Ideographs: 张医生) for a Chinese audience
USERNAME_RE = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_.\-]{2,63}$")
MIN_PASSWORD_LENGTH = 8
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


def create_user(username: str, password: str, *, email: str | None = None, organizer: bool = False,
                engine: Engine | None = None) -> User:
    """Create a local account; raises AccountError when the name is taken or the password too short.
    ``organizer=True`` is the operator's ``create-user --organizer`` (audited as the CLI's)."""
    username = validate_username(username)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password: at least {MIN_PASSWORD_LENGTH} characters.")
    if email and not EMAIL_RE.match(email):
        raise AccountError("E-mail: not a valid address.")
    user = User(username=username, password_hash=_hasher.hash(password), email=email or None, is_organizer=organizer)
    try:
        with session_scope(engine) as session:
            session.add(user)
            session.flush()
            if organizer:
                record_action(session, actor=None, action="grant_organizer", target_type="user", target_id=user.id,
                              before={"is_organizer": False}, after={"is_organizer": True, "by": "create-user"},
                              unattended=CLI)
            _apply_configured_role(session, user)
            session.flush()
            session.refresh(user)
    except IntegrityError:
        raise AccountError(f"The user name {username!r} is taken.") from None
    return user


def authenticate(username: str, password: str, *, engine: Engine | None = None) -> User | None:
    """The user whose password matches, or None (same answer for unknown names and wrong passwords)."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == (username or "").strip())).first()
        if user is None or not user.password_hash:
            _hasher.hash(password or "x")  # same cost as a real check: no timing oracle for user names
            return None
        try:
            _hasher.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        _apply_configured_role(session, user)
        session.add(user)
        return user


def user_from_oidc(claims: Mapping[str, Any], *, engine: Engine | None = None) -> User:
    """The user for an OIDC identity (``st.user``): found by issuer+subject, created on first sign-in."""
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
            while session.exec(select(User.id).where(User.username == name)).first() is not None:
                n += 1
                name = f"{base}-{n}"
            user = User(username=name, oidc_subject=key, email=claims.get("email"))
        _apply_configured_role(session, user)
        session.add(user)
        session.flush()
        session.refresh(user)
        return user


def _apply_configured_role(session: Session, user: User) -> None:
    """Grant the organizer role to names listed in MEDBENCH_ORGANIZERS (audited as the settings' doing)."""
    if not user.is_organizer and user.username in get_settings().organizer_names:
        user.is_organizer = True
        session.add(user)
        session.flush()
        record_action(session, actor=None, action="grant_organizer", target_type="user", target_id=user.id,
                      before={"is_organizer": False}, after={"is_organizer": True, "by": "MEDBENCH_ORGANIZERS"})


def sync_configured_organizers(*, engine: Engine | None = None) -> list[str]:
    """Grant the organizer role to every existing user named in MEDBENCH_ORGANIZERS; returns who was granted.

    Meant for start-up (app and CLI); names without an account yet get the role when the account is created or
    first signs in. Roles are never revoked here: removing a name from the setting is not an audit-worthy act.
    """
    names = get_settings().organizer_names
    if not names:
        return []
    granted = []
    with session_scope(engine) as session:
        for user in session.exec(select(User).where(col(User.username).in_(sorted(names)))):
            if not user.is_organizer:
                _apply_configured_role(session, user)
                granted.append(user.username)
    return granted


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
        user = session.exec(select(User).where(User.username == username.strip())).first()
        if user is None:
            raise AccountError(f"No user named {username!r}.")
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
