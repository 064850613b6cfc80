"""The Streamlit entry: navigation for visitors and organizers, and a clear stop on a bad database URL."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from submissions.tables import User

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_anonymous_visitor_gets_public_pages_only(engine) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()  # no browser language stated: Chinese
    assert not at.exception
    assert not at.error
    assert at.query_params["lang"] == "zh"  # written into the URL
    at.switch_page("leaderboard/pages/about.py").run()  # the About page is in the public navigation
    assert not at.exception and at.title[0].value == "关于 · About"


def test_the_language_follows_the_browser_and_the_switch(engine) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.context = {"locale": "en-GB"}
    at.run()
    assert not at.exception and at.title[0].value == "MedBench Leaderboard · 中文医疗大模型评测榜"
    at.segmented_control(key="lang_switch").set_value("zh").run()  # the switch wins, and stays across pages
    assert at.title[0].value == "MedBench 中文医疗大模型评测榜" and at.query_params["lang"] == "zh"
    at.switch_page("leaderboard/pages/about.py").run()
    assert at.title[0].value == "关于 · About"


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


def test_clicking_a_model_name_opens_its_page_in_the_same_tab(engine) -> None:
    """One click on a cell of the ranking (here the Model cell of the first row) switches to the model page."""
    from bench.seed_results import seed_demo_results
    from common.db import session_scope

    with session_scope(engine) as session:
        seed_demo_results(session)
    at = AppTest.from_file(APP, default_timeout=60).run()
    first = at.dataframe[0].value["Model"].iloc[0].removeprefix("⚠ ")  # a flagged model is marked
    at.session_state["ranking"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "Model"]]}}
    at.run()
    assert not at.exception
    assert at.title[0].value.replace("\\", "") == first  # the model page of the clicked row


def test_organizer_urls_ask_a_visitor_to_sign_in_as_an_organizer(engine) -> None:
    """Organizer pages are registered (hidden) for everyone: their URL explains itself instead of 'Page not found'."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    for path in ("evaluator/pages/suites.py", "evaluator/pages/tag_review.py", "submissions/pages/audit.py",
                 "evaluator/pages/runs.py", "submissions/pages/moderation.py"):
        at.switch_page(path).run()
        assert not at.exception
        assert [e.value for e in at.error] == ["This page is for organizers. Sign in with an organizer account on "
                                               "the Account page."], path
