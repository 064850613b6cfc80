"""Helpers shared by the submissions pages: the organizer gate and a submission's history as a table.

User text reaching Markdown goes through :func:`common.display.md_escape` (the site's one escaping rule).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from submissions.session import current_user
from submissions.tables import User
from submissions.views import history


def require_organizer_page() -> User:
    """Stop the page unless an organizer is signed in (pages opened directly by URL are checked too)."""
    user = current_user()
    if user is None or not user.is_organizer:
        st.error("This page is for organizers. Sign in with an organizer account on the Account page.")
        st.stop()
    assert user is not None
    return user


def history_frame(submission_id: int) -> pd.DataFrame:
    """A submission's state changes (when, from, to, who, why) as a table; shown with st.dataframe, never rendered."""
    return pd.DataFrame([{"when": e.at, "from": e.from_state or "", "to": e.to_state, "who": e.actor_name,
                          "why": e.reason or ""} for e in history(submission_id)])
