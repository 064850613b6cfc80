"""Evaluator commands. Each module below adds its own commands with ``register(app)``, so concerns stay apart:
suites (import / preview / export), offline evaluation, and the worker with the demo bootstrap."""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

for _module in ("evaluator.benchmark.suites.commands", "evaluator.ops.commands", "evaluator.ops.judge_commands",
                "evaluator.ops.worker_commands"):
    importlib.import_module(_module).register(app)
