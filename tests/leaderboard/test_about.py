"""The About page: purpose, operator, contact (a link only for https), BibTeX and the FAQ."""
from __future__ import annotations

import pytest

from common.settings import get_settings
from tests.leaderboard.conftest import page
from tests.pages import shown


@pytest.fixture
def contact(monkeypatch: pytest.MonkeyPatch, settings_env):  # type: ignore[no-untyped-def]
    def set_contact(value: str, operator: str = "Dr. [Li](https://evil.example)") -> None:
        monkeypatch.setenv("MEDBENCH_ABOUT_CONTACT", value)
        monkeypatch.setenv("MEDBENCH_ABOUT_OPERATOR", operator)
        get_settings.cache_clear()
    yield set_contact
    get_settings.cache_clear()


def test_about_page_says_what_who_how_to_cite_and_answers_the_faq(engine, contact):
    contact("https://example.org/contact")
    app = page("about")
    assert not app.exception
    assert [h.value for h in app.header] == ["What it is for", "Who runs it", "Contact", "How to cite", "FAQ"]
    assert any("This instance is run by Dr. [Li](https://evil.example)." in shown(m.value) for m in app.markdown)
    assert not any("](https://evil" in m.value for m in app.markdown)  # the operator's text is escaped
    (button,) = app.get("link_button")
    assert button.proto.url == "https://example.org/contact"
    (bibtex,) = app.code
    assert "@misc{medbench2024" in bibtex.value and "eprint       = {2407.10990}" in bibtex.value
    questions = [e.label for e in app.expander]
    assert {"Why is my model not ranked yet?", "Why did my evaluation fail?", "How do I reproduce a score?"} <= \
        set(questions)


@pytest.mark.parametrize("value", ["organizers@example.org", "javascript:alert(1)", "http://example.org"])
def test_a_contact_that_is_no_https_url_is_text_not_a_link(engine, contact, value):
    contact(value)
    app = page("about")
    assert not app.get("link_button")
    assert any(f"Write to the organizers: {value}" == shown(m.value) for m in app.markdown)
