"""Fixtures of the worker tests: the hub stand-in on 127.0.0.1 (real huggingface_hub client, no patching)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.hostile_hub import hostile, hostile_files  # noqa: F401  (fixtures shared with the intake tests)
from tests.hub_stub import HubStub, serve_hub


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    yield from serve_hub(monkeypatch)


@pytest.fixture
def pg_engine(pg_server, monkeypatch: pytest.MonkeyPatch, settings_env):  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database, for behaviour that only PostgreSQL has (row locks held by others)."""
    from common.db import get_engine, reset_engines
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_DATABASE_URL", pg_server.create_database())
    get_settings.cache_clear()
    reset_engines()
    return get_engine()
