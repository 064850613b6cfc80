"""The 中文 / English switch in a real headless Chromium: a Chinese browser opens the site in Chinese, the switch
turns it to English, the language stays in the URL across the navigation (Methodology) and back; an English
browser opens in English, and a shared ``?lang=zh`` link opens in Chinese whatever the browser says.

Real parts only: ``streamlit run app.py`` on an SQLite file seeded with finished runs (bench.seed_results),
Debian's chromium driven by playwright.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.seed_results import seed_demo_results
from common.i18n import t
from tests.browser_site import TIMEOUT_MS, chromium, requires_chromium, seeded_database, serve_app

pytestmark = requires_chromium


def _seed(engine: Engine) -> None:
    with Session(engine) as session:
        seed_demo_results(session)
        session.commit()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site on a seeded SQLite file (three ranked models); yields its base URL."""
    folder = tmp_path_factory.mktemp("language")
    env, _ = seeded_database(folder, _seed, MEDBENCH_DEVICE="cpu")
    with serve_app(env, folder) as site:
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def heading(page: Any, text: str) -> None:
    """Wait for the page's title (an h1) to read ``text``."""
    page.get_by_role("heading", name=text, exact=True).first.wait_for(timeout=TIMEOUT_MS)


def switch_to(page: Any, language: str) -> None:
    """Click ``language`` ("中文" / "English") in the sidebar's switch."""
    page.get_by_test_id("stSidebar").get_by_text(language, exact=True).click()


def test_switch_language_and_keep_it_across_pages(base: str, browser: Any) -> None:
    page = browser.new_page(locale="zh-CN")
    try:
        page.goto(base + "/")
        heading(page, t("lb.title", "zh"))  # a Chinese browser: Chinese
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name=t("nav.methodology", "zh")).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("排名所用评测集").first.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_url(re.compile(r"[?&]lang=zh\b"), timeout=TIMEOUT_MS)  # the language is in the URL

        switch_to(page, "English")
        heading(page, t("lb.title", "en"))
        page.wait_for_url(re.compile(r"[?&]lang=en\b"), timeout=TIMEOUT_MS)
        page.get_by_text("Ranked on suite").first.wait_for(timeout=TIMEOUT_MS)

        nav.get_by_role("link", name="Methodology").click()  # in-app navigation keeps the language
        heading(page, t("method.title", "en"))
        page.wait_for_url(re.compile(r"/methodology\?(.*&)?lang=en\b"), timeout=TIMEOUT_MS)
        page.get_by_role("heading", name="Dimensions and tasks").wait_for(timeout=TIMEOUT_MS)

        switch_to(page, "中文")
        heading(page, t("method.title", "zh"))
        page.get_by_role("heading", name="维度与任务").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_url(re.compile(r"[?&]lang=zh\b"), timeout=TIMEOUT_MS)

        page.reload()  # the URL carries the choice
        heading(page, t("method.title", "zh"))
    finally:
        page.close()


def test_an_english_browser_opens_in_english_and_a_shared_link_keeps_its_language(base: str, browser: Any) -> None:
    page = browser.new_page(locale="en-US")
    try:
        page.goto(base + "/methodology")
        heading(page, t("method.title", "en"))
        page.goto(base + "/methodology?lang=zh")
        heading(page, t("method.title", "zh"))
        assert page.get_by_test_id("stSidebarNav").get_by_role("link", name=t("nav.leaderboard", "zh")).count() == 1
    finally:
        page.close()
