"""Fixtures of the leaderboard tests: a real SQLite database (the `engine` fixture) seeded with finished runs."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import leaderboard.cache  # noqa: F401  (see below)
from bench.seed_results import SeededWorld, seed_demo_results
from common.db import session_scope

# AppTest runs a page as the main script and puts the page's folder first on sys.path, where
# leaderboard/pages/leaderboard.py would shadow the leaderboard package; importing the package first keeps
# `from leaderboard import ...` pointing at it (under `streamlit run app.py` the project root comes first).

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "leaderboard" / "pages"


@pytest.fixture
def world(engine) -> SeededWorld:  # type: ignore[no-untyped-def]
    """The seeded database of bench.seed_results.seed_demo_results, committed."""
    with session_scope(engine) as session:
        return seed_demo_results(session)


@pytest.fixture(autouse=True)
def fresh_cache():  # type: ignore[no-untyped-def]
    """Streamlit's data cache lives in the process: start every test without it."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def page(name: str, lang: str = "en", **query: str | list[str]) -> AppTest:
    """An AppTest of one public page with the given URL query parameters, run once, in ``lang`` (``?lang=``: the
    tests read the English texts unless they say otherwise; the site's default without a browser is Chinese)."""
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    app.query_params["lang"] = lang
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()
