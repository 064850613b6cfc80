"""The one storage layer: engine creation (SQLite file by default, PostgreSQL by URL), sessions, migrations.

SQLite runs in WAL mode with foreign keys on and a generous busy timeout, so the app, the worker and threads of
the test-suite can share one file. Alembic migrations are applied automatically by :func:`init_db`.
"""
from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from common.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseConfigError(RuntimeError):
    """The database URL is unusable; the message is one line meant for a human."""


_TABLE_MODULES: list[str] = []


def register_tables(module: str) -> None:
    """Name a package's tables module (its ``__init__`` calls this), so the storage layer knows the whole schema
    while importing no package itself (docs/architecture.md, contracts)."""
    if module not in _TABLE_MODULES:
        _TABLE_MODULES.append(module)


def all_metadata() -> MetaData:
    """SQLModel.metadata with the tables of every registered package imported."""
    for module in _TABLE_MODULES:
        importlib.import_module(module)
    return SQLModel.metadata


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def make_engine(url: str) -> Engine:
    """Build an engine for ``url``; raise DatabaseConfigError with one clear line when it cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseConfigError(
            f"MEDBENCH_DATABASE_URL is not a database URL: {url!r} "
            "(expected e.g. sqlite:///data/medbench.db or postgresql+psycopg://user:pass@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseConfigError(f"Unsupported database {backend!r} in {_redact(url)}: use sqlite or postgresql.")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except NoSuchModuleError:
        raise DatabaseConfigError(f"No driver for {_redact(url)}: use postgresql+psycopg://.") from None
    except (OperationalError, SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseConfigError(f"Cannot connect to database {_redact(url)}: {reason}") from None
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the settings' database), migrated to the newest schema."""
    url = url or get_settings().resolved_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return engine


def reset_engines() -> None:
    """Forget cached engines (tests switch databases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration up to head (idempotent)."""
    from alembic import command

    all_metadata()
    command.upgrade(alembic_config(engine), "head")


def init_db(url: str | None = None) -> Engine:
    """Create or upgrade the database at ``url`` and return its engine."""
    return get_engine(url)
