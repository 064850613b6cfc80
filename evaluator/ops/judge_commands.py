"""``cli.py eval judge``: judge a scored run's open-ended and record answers with a local causal LM."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``judge`` to the evaluator CLI."""

    @app.command("judge")
    def judge(
        run_id: int = typer.Argument(..., help="the scored run to judge"),
        model: Path = typer.Option(..., "--model", help="local folder of the judge model (any causal LM)"),
        dtype: str = typer.Option("auto", help="auto, float32, bfloat16 or float16"),
        device: str = typer.Option("auto", help="auto, cpu or cuda"),
        hard_cases: bool = typer.Option(True, help="also let the judge tag the hard cases"),
    ) -> None:
        """Judge which answer points each answer covers (and tag hard cases); figures go beside the rule figures."""
        from evaluator.engine.judge import JudgeError, judge_run
        from evaluator.engine.runners import ModelLoadError

        try:
            report = judge_run(run_id, model, dtype=dtype, device=device, tag_hard_cases=hard_cases)
        except (JudgeError, ModelLoadError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"judged run {run_id} with {report.model} ({report.revision[:12]}): {report.rows_judged} answers, "
                   f"{report.points_judged} answer points, {report.hard_cases_tagged} hard cases tagged")
