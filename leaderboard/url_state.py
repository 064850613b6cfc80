"""Shared-URL hygiene: widgets bound to ``st.query_params`` silently drop values they do not know, so pages
call :func:`warn_unknown` first and tell the visitor which part of the link was ignored, and why."""
from __future__ import annotations

import streamlit as st

from common.display import md_escape


def warn_unknown(key: str, allowed: list[str]) -> None:
    """Warn about the values of URL parameter ``key`` that are not in ``allowed`` (they will be ignored)."""
    allowed = list(dict.fromkeys(allowed))  # each accepted value named once (callers may add "all" to a list with it)
    unknown = [v for v in st.query_params.get_all(key) if v and v not in allowed]
    if unknown:
        st.warning(f"Ignored unknown {'value' if len(unknown) == 1 else 'values'} "
                   f"{md_escape(', '.join(map(repr, unknown)))} for '{key}' in the URL; "
                   f"accepted: {md_escape(', '.join(allowed))}.")
