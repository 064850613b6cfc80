"""Helpers shared by the submissions pages: safe display of user text and the organizer gate.

Why escape: Streamlit renders markdown in st.write/st.error/st.success, so a reason or a model card containing
``[link](javascript:..)``, ``![img](http://tracker)`` or HTML would be rendered. User text goes through
:func:`md_escape` (or st.text / st.code / st.dataframe, which never render it).
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from submissions.session import current_user
from submissions.tables import User
from submissions.views import history

_MD_INLINE = re.compile(r"([\\`*_{}\[\]()#!|<>&~$])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))", re.MULTILINE)


def md_escape(text: object) -> str:
    """``text`` as literal markdown: characters that markdown or HTML could interpret are backslash-escaped
    (everywhere for inline syntax: emphasis, links, images, HTML, code, math; at line starts for lists and
    headings). Streamlit's renderer still turns bare http(s) URLs and e-mail addresses into links (new tab,
    rel=noopener), which escaping cannot stop; free text of users is therefore shown with st.text or in tables,
    and this is for messages that quote a validated id or name."""
    escaped = _MD_INLINE.sub(r"\\\1", str(text))
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    return indent + (marker + "\\" if marker[0].isdigit() else "\\" + marker)  # "1\." and "\-" are literal


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
