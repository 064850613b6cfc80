"""Operator commands for the worker: ``eval worker``, ``eval bootstrap-demo``, ``eval rescore``, ``eval cancel``."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the evaluator CLI."""

    @app.command("worker")
    def worker_command(
        until_idle: bool = typer.Option(False, "--until-idle", help="Exit once the queue is empty."),
        device: str = typer.Option("auto", help="auto, cpu or cuda (overrides MEDBENCH_DEVICE)."),
    ) -> None:
        """Serve the evaluation queue (same as ``python -m evaluator.ops.worker``); Ctrl-C stops it cleanly."""
        from evaluator.ops.worker import main

        args = ["--until-idle"] if until_idle else []
        raise typer.Exit(main([*args, "--device", device]))

    @app.command("bootstrap-demo")
    def bootstrap_demo_command() -> None:
        """Import the demo suite and queue the demo models, while no run has finished yet (idempotent)."""
        from evaluator.ops.demo import bootstrap_demo

        for line in bootstrap_demo().lines():
            typer.echo(line)

    @app.command("rescore")
    def rescore_command(
        run_id: list[int] = typer.Argument(None, help="Runs to re-score now; none: every outdated finished run."),
    ) -> None:
        """Re-score finished runs from their stored outputs (no model needed) with the current scoring rules."""
        from common.db import get_engine
        from evaluator.ops.leases import finished_run_ids
        from evaluator.ops.worker import Worker, rescore_runs

        engine = get_engine()
        if not run_id:
            done = Worker(engine, device="cpu", owner="cli").rescore_outdated()
            typer.echo(f"re-scored {len(done)} outdated run(s){': ' + ', '.join(map(str, done)) if done else ''}")
            return
        missing = [r for r in run_id if r not in finished_run_ids(engine, run_id)]
        if missing:
            typer.echo(f"error: not finished runs: {', '.join(map(str, missing))}; nothing was re-scored", err=True)
            raise typer.Exit(1)
        rescore_runs(engine, run_id, actor_name="cli")
        typer.echo(f"re-scored run(s) {', '.join(map(str, run_id))}")

    @app.command("cancel")
    def cancel_command(run_id: int = typer.Argument(..., help="The run to cancel.")) -> None:
        """Cancel a run: a pending one at once, a running one within seconds (its worker stops it)."""
        from common.db import get_engine
        from evaluator.ops.leases import LeaseError, request_cancel

        try:
            typer.echo(request_cancel(get_engine(), run_id, actor_name="cli"))
        except LeaseError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
