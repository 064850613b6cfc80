"""Helpers the page tests share: a user row, a page opened in Streamlit's AppTest as that user, and the text a
visitor reads from the Markdown source AppTest reports."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from common.display import WORD_JOINER
from submissions.tables import User

PAGES = Path(__file__).resolve().parents[1] / "evaluator" / "pages"


def add_user(engine: Engine, name: str, organizer: bool) -> int:
    """A committed user (an organizer or not); returns its id for ``open_page``."""
    with Session(engine) as session:
        user = User(username=name, is_organizer=organizer)
        session.add(user)
        session.commit()
        return user.id


def open_page(page: Path, user_id: int | None) -> AppTest:
    """Run ``page`` once as user ``user_id`` (None: nobody signed in); the page must not raise."""
    at = AppTest.from_file(str(page), default_timeout=30)
    if user_id is not None:
        at.session_state["user_id"] = user_id
    at.run()
    assert not at.exception
    return at


def shown(markdown: str) -> str:
    """The text a visitor reads where ``markdown`` (AppTest's view of an element: its Markdown source) holds text
    escaped by ``common.display.md_escape``: backslash escapes resolved, word joiners dropped. Markup the page
    itself adds (``**``) stays."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")
