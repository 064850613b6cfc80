"""Alembic environment: uses the engine handed over by common.db (no alembic.ini, no URL duplication)."""
from alembic import context

from common.db import all_metadata

config = context.config
target_metadata = all_metadata()


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
