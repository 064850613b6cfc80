"""Who is signed in, for every page: the one place that reads the Streamlit session's identity.

A local account signs in by setting ``st.session_state["user_id"]`` (:func:`sign_in`). When OIDC is configured
(an ``[auth]`` section in ``.streamlit/secrets.toml``) and ``st.user`` says the visitor is logged in, the identity
is mapped to a row of ``users`` on first use (``submissions.accounts.user_from_oidc``).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from submissions.accounts import get_user, user_from_oidc
from submissions.tables import User

SESSION_KEY = "user_id"


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


def current_user() -> User | None:
    """The signed-in user, or None for an anonymous visitor."""
    user_id = st.session_state.get(SESSION_KEY)
    if user_id is None:
        claims = _oidc_claims()
        if claims is None:
            return None
        user = user_from_oidc(claims)
        st.session_state[SESSION_KEY] = user.id
        return user
    user = get_user(user_id)
    if user is None:  # the account was deleted meanwhile
        st.session_state.pop(SESSION_KEY, None)
    return user


def is_organizer() -> bool:
    user = current_user()
    return bool(user and user.is_organizer)


def sign_in(user: User) -> None:
    st.session_state[SESSION_KEY] = user.id


def sign_out() -> None:
    """Forget the local sign-in; for OIDC sessions also end the provider's cookie (``st.logout``)."""
    st.session_state.pop(SESSION_KEY, None)
    if _oidc_claims() is not None:
        st.logout()
