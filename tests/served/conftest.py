"""Fixtures for served (API) models: an OpenAI-compatible stand-in on 127.0.0.1 answering with a tiny model, and
the secret API key the tests search for everywhere it must never appear."""
from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from common.settings import get_settings
from tests.openai_stub import OpenAIStub

STUB_MODEL = "stub-medical-chat"


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh key under the name STUB (MEDBENCH_API_KEY_STUB), as an operator sets it on the site and worker."""
    key = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv("MEDBENCH_API_KEY_STUB", key)
    return key


@pytest.fixture
def api_settings(monkeypatch: pytest.MonkeyPatch, settings_env):  # type: ignore[no-untyped-def]
    """Short timeouts and a quick retry budget, so injected faults cost seconds, not minutes."""
    monkeypatch.setenv("MEDBENCH_API_TIMEOUT_S", "1.0")
    monkeypatch.setenv("MEDBENCH_API_MAX_RETRIES", "6")
    monkeypatch.setenv("MEDBENCH_API_CONCURRENCY", "4")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def stub(tiny_models, api_key) -> Iterator[OpenAIStub]:  # type: ignore[no-untyped-def]
    server = OpenAIStub.start(tiny_models["random"], STUB_MODEL, api_key, slow_s=2.5)
    try:
        yield server
    finally:
        server.stop()
