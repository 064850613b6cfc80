"""The Streamlit entry: navigation for visitors and organizers, and a clear stop on a bad database URL."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from submissions.tables import User

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_anonymous_visitor_gets_public_pages_only(engine) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert not at.error
    at.switch_page("leaderboard/pages/about.py").run()  # the About page is in the public navigation
    assert not at.exception and at.title[0].value == "About · 关于"


def test_bad_database_url_shows_one_clear_error(monkeypatch, settings_env) -> None:
    monkeypatch.setenv("MEDBENCH_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/x")
    from common.settings import get_settings

    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "Cannot connect to database" in at.error[0].value


def test_organizer_session_runs(engine) -> None:
    with Session(engine) as s:
        org = User(username="org", is_organizer=True)
        s.add(org)
        s.commit()
        s.refresh(org)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user_id"] = org.id
    at.run()
    assert not at.exception
