"""Who is signed in, for every page: the one place that reads the Streamlit session's identity."""
from __future__ import annotations

import streamlit as st
from sqlmodel import select

from common.db import session_scope
from submissions.tables import User


def current_user() -> User | None:
    """The signed-in user, or None for an anonymous visitor."""
    user_id = st.session_state.get("user_id")
    if user_id is None:
        return None
    with session_scope() as session:
        return session.exec(select(User).where(User.id == user_id)).first()


def is_organizer() -> bool:
    user = current_user()
    return bool(user and user.is_organizer)
