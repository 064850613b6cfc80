"""Shared fixtures: fresh databases (SQLite file and real PostgreSQL) and tiny local models."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common.db import get_engine, reset_engines  # noqa: E402
from common.settings import get_settings  # noqa: E402
from tests.pg_server import PgServer, start_pg_server  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_pg_server()
    yield server
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'medbench.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'medbench.db'}"
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Point the settings (and so get_engine()) at a fresh SQLite database and data folder under tmp_path."""
    monkeypatch.setenv("MEDBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDBENCH_MODEL_CACHE_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("MEDBENCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    reset_engines()
    yield get_settings()
    get_settings.cache_clear()
    reset_engines()


@pytest.fixture
def engine(settings_env):  # type: ignore[no-untyped-def]
    """The migrated engine of a fresh SQLite database that get_engine()/session_scope() also use."""
    return get_engine()


@pytest.fixture
def any_engine(db_url: str, monkeypatch: pytest.MonkeyPatch, settings_env):  # type: ignore[no-untyped-def]
    """Like ``engine`` but parametrized over SQLite and PostgreSQL."""
    monkeypatch.setenv("MEDBENCH_DATABASE_URL", db_url)
    get_settings.cache_clear()
    reset_engines()
    return get_engine()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny local models: 'random' (seeded noise) and 'letter_a' (always answers A)."""
    from evaluator.engine.tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "random": build_tiny_model(root / "random", "random", seed=1),
        "letter_a": build_tiny_model(root / "letter_a", "letter", letter="A"),
    }


@pytest.fixture(scope="session")
def canary_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The leak tests' tiny models (tests/canary_site.py): 'canary' writes only the output canary, 'letter' "A"."""
    from tests.canary_site import build_models

    return build_models(tmp_path_factory.mktemp("canary-models"))
