"""Brute-force throttling of local sign-ins, per account and per client, kept in the database.

Every failed sign-in adds a row to ``sign_in_failures`` for the account name (any spelling: names are
case-insensitive) and, when known, for the client (``submissions.session.client_key``). Once a key has
:data:`ACCOUNT_LIMIT` (account) or :data:`CLIENT_LIMIT` (client) failures within :data:`WINDOW`, further attempts
for it are refused without checking the password, and without counting, until enough failures age out of the
window. Rows live in the database, so the limit holds across app processes and restarts. Unknown names are
counted like real ones, so the throttle does not tell which names exist. A successful sign-in clears the
account's failures (not the client's: an attacker who knows one password must not reset the count for others).
Keys are SHA-256 digests, so the table stores no addresses.
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from common.timeutil import utcnow
from submissions.tables import SignInFailure

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _keys(username: str, client: str | None) -> list[tuple[str, str, int]]:
    """(key, who, limit) for the account and, when known, the client."""
    keys = [(_key("account", (username or "").strip().lower()), "this account", ACCOUNT_LIMIT)]
    if client:
        keys.append((_key("client", client), "your network address", CLIENT_LIMIT))
    return keys


def refusal(session: Session, username: str, client: str | None, *, now: datetime | None = None) -> str | None:
    """Why a sign-in for ``username`` from ``client`` is refused right now (one line), or None when it may try."""
    now = now or utcnow()
    for key, who, limit in _keys(username, client):
        times = list(session.exec(select(SignInFailure.at).where(SignInFailure.key == key,
                                                                 col(SignInFailure.at) > now - WINDOW)
                                  .order_by(col(SignInFailure.at))))
        if len(times) >= limit:
            oldest = times[len(times) - limit]
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)  # SQLite returns naive UTC
            minutes = max(1, math.ceil((oldest + WINDOW - now).total_seconds() / 60))
            return f"Too many failed sign-ins for {who}; try again in {minutes} minute{'s' if minutes > 1 else ''}."
    return None


def record_failure(session: Session, username: str, client: str | None, *, now: datetime | None = None) -> None:
    """Count one failed sign-in against the account and the client; rows older than the window are dropped."""
    now = now or utcnow()
    session.exec(delete(SignInFailure).where(col(SignInFailure.at) <= now - WINDOW))
    for key, _who, _limit in _keys(username, client):
        session.add(SignInFailure(key=key, at=now))


def clear_account(session: Session, username: str) -> None:
    """Forget the account's failures (after a successful sign-in or a password reset)."""
    key, _who, _limit = _keys(username, None)[0]
    session.exec(delete(SignInFailure).where(SignInFailure.key == key))
