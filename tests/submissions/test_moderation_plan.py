"""Organizers see the planner's time and memory estimate of a submission's run before approving it."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from evaluator.suites.bundled import ensure_demo_suite
from submissions.accounts import create_user
from tests.submissions.factories import add_submission

PAGE = str(Path(__file__).resolve().parents[2] / "submissions" / "pages" / "moderation.py")


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Planned run:")]


def test_moderation_shows_the_planned_run(engine) -> None:
    org = create_user("olga", "password1", organizer=True)
    sub = add_submission(engine, None)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_id"] = org.id
    at.run()
    assert not at.exception
    assert _captions(at) == ["Planned run: no estimate: no suite is active"]

    with Session(engine) as s:
        ensure_demo_suite(s)
        s.commit()
    at.selectbox(key="history_of").set_value(sub)
    at.run()
    (caption,) = _captions(at)
    assert "no estimate" not in caption and "suite demo" in caption, caption
