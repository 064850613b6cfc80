"""Who is signed in, for every page: the one place that reads the Streamlit session's identity.

A local account signs in by setting ``st.session_state["user_id"]`` (:func:`sign_in`), which also issues a
remembered sign-in (``submissions.remember``): a new session (a reload, a new tab) whose browser cookie holds a
valid token starts signed in. When OIDC is configured (an ``[auth]`` section in ``.streamlit/secrets.toml``) and
``st.user`` says the visitor is logged in, the identity is mapped to a row of ``users`` on first use
(``submissions.accounts.user_from_oidc``); ``st.login`` keeps its own cookie.
"""
from __future__ import annotations

import ipaddress
from typing import Any

import streamlit as st

from submissions import remember
from submissions.accounts import get_user, user_from_oidc
from submissions.tables import User

SESSION_KEY = "user_id"
TOKEN_KEY = "sign_in_token"
ENDED_TOKEN_KEY = "sign_in_token_ended"  # this session's last signed-out, revoked or refused token
COOKIE_CHECKED_KEY = "sign_in_cookie_checked"


def _auth_section() -> dict[str, Any]:
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, KeyError, ValueError, RuntimeError, st.errors.StreamlitSecretNotFoundError):
        return {}
    return dict(section) if section else {}


def oidc_providers() -> list[str]:
    """Providers configured for ``st.login`` (``[auth.<name>]`` tables, or "default" for a flat ``[auth]``)."""
    section = _auth_section()
    if not section or "redirect_uri" not in section or "cookie_secret" not in section:
        return []
    named = [name for name, value in section.items() if hasattr(value, "get") and value.get("client_id")]
    if named:
        return named
    return ["default"] if section.get("client_id") else []


def _oidc_claims() -> dict[str, Any] | None:
    if not oidc_providers():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        return st.user.to_dict()
    except (AttributeError, KeyError):
        return None


def restore(token: str | None) -> User | None:
    """Sign in the user a remembered token names (see ``submissions.remember``); None, and nobody signed in,
    when the token is missing, tampered, expired or revoked."""
    user = remember.user_for_token(token)
    if user is not None:
        st.session_state[SESSION_KEY] = user.id
        st.session_state[TOKEN_KEY] = token
    elif token:
        _end_token(token)  # a refused cookie is removed from the browser
    return user


def _end_token(token: str | None) -> None:
    """Remember ``token`` as ended here, so :func:`sync_cookie` removes it if the browser still holds it."""
    if token:
        st.session_state[ENDED_TOKEN_KEY] = token


def current_user() -> User | None:
    """The signed-in user, or None for an anonymous visitor. A new session first tries the browser's remembered
    sign-in (once: a refused cookie is not re-checked on every run). A remembered sign-in is re-checked on every
    call, so signing out in one tab, a new password or a deleted account ends it in every tab on its next run."""
    if st.session_state.get(SESSION_KEY) is None and not st.session_state.get(COOKIE_CHECKED_KEY):
        st.session_state[COOKIE_CHECKED_KEY] = True
        restore(remember.cookie_token())
    user_id = st.session_state.get(SESSION_KEY)
    if user_id is None:
        claims = _oidc_claims()
        if claims is None:
            return None
        user = user_from_oidc(claims)
        st.session_state[SESSION_KEY] = user.id
        return user
    token = st.session_state.get(TOKEN_KEY)
    user = remember.user_for_token(token) if token else get_user(user_id)
    if user is None:  # the account was deleted meanwhile, or its remembered sign-in revoked
        st.session_state.pop(SESSION_KEY, None)
        _end_token(st.session_state.pop(TOKEN_KEY, None))
    return user


def client_key() -> str | None:
    """The address the sign-in throttle counts this browser's failures against (``submissions.throttle``).

    Normally the connection's own address, which a client cannot choose. When that peer is this machine or a
    private network, it is taken to be the reverse proxy (Caddy in deploy/) and the last ``X-Forwarded-For``
    entry, the address the proxy saw, is used instead; otherwise every visitor would share the proxy's address.
    None where Streamlit knows no client (AppTest) or a local visitor sends no proxy header: then only the
    per-account limit applies."""
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For") or ""
    except (AttributeError, KeyError, RuntimeError):
        return None
    proxied = forwarded.split(",")[-1].strip()
    if proxied and (peer is None or _is_private(peer)):
        return proxied
    return peer


def _is_private(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed.is_private or parsed.is_loopback


def is_organizer() -> bool:
    user = current_user()
    return bool(user and user.is_organizer)


def sign_in(user: User) -> None:
    """Sign a local account in for this session and remember it in this browser (:func:`sync_cookie` writes it)."""
    st.session_state[SESSION_KEY] = user.id
    st.session_state[TOKEN_KEY] = remember.issue_token(user)


def sign_out() -> None:
    """Forget the local sign-in here and on the server (the token is revoked, the cookie removed on the next run);
    for OIDC sessions also end the provider's cookie (``st.logout``)."""
    st.session_state.pop(SESSION_KEY, None)
    token = st.session_state.pop(TOKEN_KEY, None)
    remember.revoke_token(token)
    _end_token(token)
    if _oidc_claims() is not None:
        st.logout()


def sync_cookie() -> None:
    """Keep the browser's sign-in cookie for this session's token, or remove this session's ended token from it;
    another tab's sign-in is never touched (app.py calls it on every run)."""
    remember.write_cookie(st.session_state.get(TOKEN_KEY), st.session_state.get(ENDED_TOKEN_KEY))
