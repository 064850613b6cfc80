"""The organizer's and operator's command line: ``python cli.py --help``.

Each package contributes its own command group; this file only assembles them and turns configuration errors
into one clear line.
"""
from __future__ import annotations

import sys

import typer

from common.db import DatabaseConfigError, init_db
from common.settings import SettingsError

app = typer.Typer(help="MedBench Leaderboard: operate the database, suites, evaluator and users.", no_args_is_help=True)


@app.command("init-db")
def init_db_command() -> None:
    """Create the database or upgrade it to the newest schema (also done automatically at start)."""
    from common.settings import get_settings

    init_db()
    url = get_settings().resolved_database_url
    typer.echo(f"database ready: {url.split('@')[-1]}")


def _register_groups() -> None:
    from evaluator.ops.cli import app as evaluator_app
    from submissions.cli import app as submissions_app

    app.add_typer(evaluator_app, name="eval", help="Suites, offline evaluation, the worker, exports.")
    app.add_typer(submissions_app, name="users", help="Accounts, organizers and the queue.")


def main() -> None:
    _register_groups()
    try:
        app()
    except (DatabaseConfigError, SettingsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
