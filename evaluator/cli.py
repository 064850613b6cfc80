"""Evaluator commands: import suites, evaluate a local model or hub id offline, run the worker, export results."""
import typer

app = typer.Typer(no_args_is_help=True)
