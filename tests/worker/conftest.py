"""Fixtures of the worker tests: the hub and ModelScope stand-ins on 127.0.0.1 (the real huggingface_hub and
modelscope clients, no patching)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.hostile_hub import HostileFiles, hostile, hostile_files, publish_hostile  # noqa: F401  (shared fixtures)
from tests.hub_stub import HubStub, serve_hub
from tests.modelscope_stub import ModelScopeStub, serve_modelscope


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    yield from serve_hub(monkeypatch)


@pytest.fixture
def modelscope(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelScopeStub]:
    yield from serve_modelscope(monkeypatch)


@pytest.fixture
def ms_hostile(modelscope: ModelScopeStub, hostile_files: HostileFiles) -> dict[str, str]:
    """The hostile shapes (tests/hostile_hub.py), published on the ModelScope stand-in."""
    return publish_hostile(modelscope, hostile_files)


@pytest.fixture
def pg_engine(pg_server, monkeypatch: pytest.MonkeyPatch, settings_env):  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database, for behaviour that only PostgreSQL has (row locks held by others)."""
    from common.db import get_engine, reset_engines
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_DATABASE_URL", pg_server.create_database())
    get_settings.cache_clear()
    reset_engines()
    return get_engine()
