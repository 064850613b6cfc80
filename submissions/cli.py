"""Submissions commands: create accounts, grant the organizer role, inspect the queue."""
import typer

app = typer.Typer(no_args_is_help=True)
