"""Autogenerate an Alembic revision from the current tables.

``python -m common.make_migration "message"`` adds a revision on top of head.
``python -m common.make_migration --reset-initial`` rewrites revision 0001 from scratch; allowed only until the
first release (no database outside development holds revision 0001 yet).
It compares the models with a scratch SQLite database, so it needs no running server.
"""
from __future__ import annotations

import sys
import tempfile

from alembic import command

import evaluator  # noqa: F401  (the schema's composition root: each package registers its tables on import)
import submissions  # noqa: F401
from common.db import MIGRATIONS_DIR, alembic_config, make_engine, upgrade

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial_schema.py"


def main(message: str, reset_initial: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/scratch.db")
        if reset_initial:
            INITIAL.unlink(missing_ok=True)
            command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
            generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
            generated.rename(INITIAL)
            return
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(" ".join(a for a in args if a != "--reset-initial") or "schema change", "--reset-initial" in args)
