"""Remembered local sign-ins: a reload or a new tab keeps a local (argon2) account signed in.

Each Streamlit session starts empty, so ``st.session_state`` alone forgets a sign-in on reload. After a local
sign-in the browser keeps a cookie holding a random token (``secrets.token_urlsafe``); the server stores only its
SHA-256 in ``sign_in_tokens`` with the user, an expiry (``MEDBENCH_SIGN_IN_DAYS``) and a digest of the user's
password hash. A token signs someone in only while its row exists, has not expired, its user still exists and
the password hash is unchanged, so sign-out (row deleted), a new password or a deleted account revoke it at
once, and a tampered value matches no row. A server-side table was chosen over an HMAC-signed cookie because a
signed cookie stays valid until it expires (sign-out could not revoke it) and needs a secret to manage; a random
token needs neither.

Reading: ``st.context.cookies`` (Streamlit's own, read-only) holds the cookies of the request that opened the
session, which is exactly when a new session needs them. Writing: a cookie can only be set by script in the page,
and Streamlit's own ``st.components.v2`` runs inline JavaScript in the app page (not in an iframe) with the
token passed as JSON data, never pasted into code. It was preferred to third-party components
(``extra-streamlit-components``' CookieManager, ``streamlit-cookies-controller``, ``streamlit-cookies-manager``):
those are iframed v1 components, each one more pinned dependency, which read cookies only after an extra
round-trip and have been slow to follow Streamlit releases. :func:`write_cookie` runs on every run (a run cut
short by ``st.rerun`` cannot lose a change) but only touches the cookie for this session's own tokens: it sets the
token this session signed in with, and removes a token only when the cookie still holds that very token (signed
out, revoked or refused here). The cookie is shared by all tabs, so a tab that is signed out, or signed in as
someone else, must never overwrite another tab's sign-in.

An argon2 rehash at sign-in (only after its parameters are raised) changes the password hash and so ends the
user's other remembered sign-ins, as a password change would. A script-set cookie cannot be HttpOnly; it is
``SameSite=Strict`` (``Secure`` over https), expires with the row, and pages escape user text, which keeps script
that could read it out of the page.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import col, delete, select

from common.db import session_scope
from common.settings import get_settings
from common.timeutil import utcnow
from submissions.tables import SignInToken, User

COOKIE_NAME = "medbench_sign_in"

_COOKIE_JS = """
export default function ({ data }) {
  const { name, token, clear, maxAge } = data;
  const attributes = "; Path=/; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
  const held = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  if (token && held !== name + "=" + token) {
    document.cookie = name + "=" + token + "; Max-Age=" + maxAge + attributes;
  } else if (!token && clear && held === name + "=" + clear) {
    document.cookie = name + "=; Max-Age=0" + attributes;
  }
}
"""
_cookie_writer = st.components.v2.component("medbench_sign_in_cookie", js=_COOKIE_JS)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_token(user: User, *, engine: Engine | None = None) -> str:
    """A new token that signs ``user`` (a local account) in for ``sign_in_days``; expired rows are dropped."""
    if user.id is None or not user.password_hash:
        raise ValueError("Only saved local accounts (with a password) get a sign-in token.")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope(engine) as session:
        session.exec(delete(SignInToken).where(col(SignInToken.expires_at) <= now))
        session.add(SignInToken(token_hash=_digest(token), user_id=user.id, credential=_digest(user.password_hash),
                                expires_at=now + timedelta(days=get_settings().sign_in_days)))
    return token


def user_for_token(token: str | None, *, engine: Engine | None = None) -> User | None:
    """The user ``token`` signs in, or None when it is unknown (tampered, revoked), expired, or issued before the
    user's password changed."""
    if not token:
        return None
    with session_scope(engine) as session:
        row = session.exec(select(SignInToken, User).join(User)
                           .where(SignInToken.token_hash == _digest(token), SignInToken.expires_at > utcnow())
                           ).first()
        if row is None:
            return None
        issued, user = row
        if not user.password_hash or issued.credential != _digest(user.password_hash):
            return None
        return user


def revoke_token(token: str | None, *, engine: Engine | None = None) -> None:
    """Forget ``token`` on the server (sign-out); unknown tokens are ignored."""
    if token:
        with session_scope(engine) as session:
            session.exec(delete(SignInToken).where(col(SignInToken.token_hash) == _digest(token)))


def cookie_token() -> str | None:
    """The token the browser sent when this Streamlit session opened (None: no cookie). Anything but a non-empty
    string is no token (a session without a browser client, as in AppTest, answers with a placeholder object)."""
    value = st.context.cookies.get(COOKIE_NAME)
    return value if isinstance(value, str) and value else None


def write_cookie(token: str | None, clear: str | None = None) -> None:
    """Make the browser hold ``token`` in the sign-in cookie; without one, remove the cookie only if it holds
    ``clear`` (this session's ended token). Renders nothing visible; call it on every run."""
    max_age = get_settings().sign_in_days * 24 * 3600
    with st.sidebar:
        _cookie_writer(key="sign_in_cookie",
                       data={"name": COOKIE_NAME, "token": token, "clear": clear, "maxAge": max_age})
