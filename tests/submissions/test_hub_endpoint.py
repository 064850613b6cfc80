"""The hub endpoint is one setting (MEDBENCH_HUB_ENDPOINT, else HF_ENDPOINT, else huggingface.co), shown on the
Submit page; a hub that cannot be reached or does not answer is reported in words, never an exception's name."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from common.settings import get_settings
from submissions.checks import check_validity
from submissions.hub import hub_endpoint
from tests.hub_stub import HubStub


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a hub behind a stalled link)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def closed_url() -> str:
    stub = HubStub.start()
    url = stub.url
    stub.stop()
    return url


def test_the_setting_wins_over_hf_endpoint_and_defaults_to_huggingface(engine, hub: HubStub, shapes, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", closed_url())
    monkeypatch.setenv("MEDBENCH_HUB_ENDPOINT", hub.url + "/")
    get_settings.cache_clear()
    assert hub_endpoint() == hub.url
    assert check_validity(shapes["good"], "main").ok  # checked on the mirror the setting names
    monkeypatch.delenv("MEDBENCH_HUB_ENDPOINT")
    monkeypatch.delenv("HF_ENDPOINT")
    get_settings.cache_clear()
    assert hub_endpoint() == "https://huggingface.co"


def test_unreachable_and_silent_hubs_are_reported_in_words(engine, hub: HubStub, shapes, silent_hub,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("MEDBENCH_HUB_ENDPOINT", closed := closed_url())
    get_settings.cache_clear()
    result = check_validity(shapes["good"], "main")
    assert result.message == (f"The model hub at {closed} could not be reached. Nothing was submitted; please try "
                              "again in a few minutes.")
    monkeypatch.setenv("MEDBENCH_HUB_ENDPOINT", silent_hub)
    get_settings.cache_clear()
    result = check_validity(shapes["good"], "main")
    assert result.message == (f"The model hub at {silent_hub} did not answer within 10 s. Nothing was submitted; "
                              "please try again in a few minutes.")
    assert "Error" not in result.message


def test_submit_page_names_the_hub_models_are_checked_on(engine, monkeypatch) -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from submissions.accounts import create_user
    from tests.pages import shown

    monkeypatch.setenv("MEDBENCH_HUB_ENDPOINT", "https://hf-mirror.example.cn")
    get_settings.cache_clear()
    user = create_user("sam", "amber falcon 77")
    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "submissions" / "pages" / "submit.py"),
                            default_timeout=30)
    app.session_state["user_id"] = user.id
    app.query_params["lang"] = "en"  # the caption asserted below, in English
    app.run()
    assert not app.exception
    assert any(shown(c.value).startswith("Models are checked on https://hf-mirror.example.cn") for c in app.caption)
