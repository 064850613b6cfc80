"""Offline evaluation from the command line: ``cli.py eval run``, ``eval score``, ``eval export``.

``eval run --model PATH_OR_ID`` evaluates a local model folder or a hub id (at a pinned revision; the hub may be
a local stand-in via HF_ENDPOINT) on a suite, with a progress bar and ETA, writes the results to the database
(a run with no submission) and to a JSON file.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from sqlmodel import Session, select

from common.timeutil import utcnow


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def model_entry(session: Session, model: str, revision: str, precision: str, use_chat_template: bool):  # type: ignore[no-untyped-def]
    """The ModelEntry of a local folder (pinned by its content hash) or of a hub id at ``revision``'s commit."""
    from submissions.tables import ModelEntry

    folder = Path(model).expanduser()
    if folder.is_dir():
        from evaluator.engine.tiny_models import folder_sha

        if not (folder / "config.json").is_file():
            _fail(f"{folder} is not a model folder (no config.json)")
        hub_id, sha, local = f"local/{folder.resolve().name}", folder_sha(folder), str(folder.resolve())
    elif "/" in model and not model.startswith((".", "/", "~")):
        from submissions.hub import fetch_model_info

        try:
            sha = fetch_model_info(model, revision).sha
        except Exception as exc:  # noqa: BLE001 - hub errors of every kind become one line
            _fail(f"cannot resolve {model}@{revision} on the hub: {str(exc).splitlines()[0] if str(exc) else exc}")
        hub_id, local = model, None
    else:
        _fail(f"{model!r} is neither a model folder nor a hub id (owner/name)")
    entry = session.exec(select(ModelEntry).where(ModelEntry.hub_id == hub_id, ModelEntry.commit_sha == sha,
                                                  ModelEntry.precision == precision)).first()
    if entry is None:
        entry = ModelEntry(hub_id=hub_id, revision=revision, commit_sha=sha, precision=precision, is_demo=False,
                           local_path=local, use_chat_template=use_chat_template)
        session.add(entry)
        session.flush()
    return entry


def _suite(session: Session, name: Optional[str]):  # type: ignore[no-untyped-def]
    from evaluator.benchmark.suites.importer import get_active_suite
    from evaluator.tables import Suite

    if name is None:
        suite = get_active_suite(session)
        if suite is None:
            _fail("no active suite: import one with `cli.py eval import-suite` or pass --suite NAME")
        return suite
    suite = session.exec(select(Suite).where(Suite.name == name).order_by(Suite.id.desc())).first()
    if suite is None:
        _fail(f"no suite named {name!r}")
    return suite


def run_command(
    model: str = typer.Option(..., "--model", help="Local model folder or hub id (owner/name)."),
    revision: str = typer.Option("main", help="Hub revision (pinned to its commit SHA)."),
    suite: Optional[str] = typer.Option(None, help="Suite name (default: the active suite)."),
    tasks: Optional[str] = typer.Option(None, help="Comma-separated task names (default: all)."),
    limit: Optional[int] = typer.Option(None, help="Only the first N items of each task."),
    k: int = typer.Option(5, help="Option orders per choice item."),
    seed: int = typer.Option(0, help="Seed of the option orders and bootstrap."),
    dtype: str = typer.Option("auto", help="auto, float32, bfloat16 or float16 (CPU always computes in float32)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    backend: str = typer.Option("auto", help="auto, transformers or vllm."),
    chat_template: bool = typer.Option(True, help="Use the model's chat template when it has one."),
    protocol: str = typer.Option("generate", help="generate (official: the model writes its answer, which is "
                                                   "extracted) or logprob (fast: letter log-probs after 答案：)."),
    thinks: Optional[bool] = typer.Option(None, "--thinks/--no-thinks",
                                          help="The model reasons before answering (default: read its chat template)."),
    reasoning_budget: Optional[int] = typer.Option(None, help="Tokens a reasoning model may think (default 4096)."),
    token_budget: Optional[int] = typer.Option(None, help="Padded tokens per forward pass."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Results file (default: data/runs/run-<id>.json)."),
) -> None:
    """Evaluate a model offline: write the run to the database and to a JSON file."""
    from tqdm import tqdm

    from common.db import get_engine, session_scope
    from common.settings import get_settings
    from evaluator.engine.execution import RunStopped, execute_run
    from evaluator.engine.failures import failure_detail
    from evaluator.engine.scoring import export_run, score_run
    from evaluator.engine.spec import RunSpecError
    from evaluator.engine.units import create_run
    from evaluator.engine.runners import ModelLoadError

    engine = get_engine()
    overrides = {"k": k, "seed": seed, "dtype": dtype, "device": device, "backend": backend,
                 "use_chat_template": chat_template, "protocol": protocol}
    if thinks is not None:
        overrides["thinks"] = thinks
    if reasoning_budget is not None:
        overrides["reasoning_budget"] = reasoning_budget
    if tasks:
        overrides["tasks"] = [t.strip() for t in tasks.split(",") if t.strip()]
    if limit is not None:
        overrides["limit_per_task"] = limit
    if token_budget is not None:
        overrides["token_budget"] = token_budget
    with session_scope(engine) as session:
        entry = model_entry(session, model, revision, dtype if dtype != "auto" else "float32", chat_template)
        try:
            run = create_run(session, entry, _suite(session, suite), **overrides)
        except RunSpecError as exc:
            _fail(str(exc), 2)
        run.status, run.started_at = "running", utcnow()
        run_id = run.id
    typer.echo(f"run {run_id}: {entry.hub_id}@{entry.commit_sha[:12]} on suite {run.run_spec['suite_name']!r}, "
               f"{run.progress_total} questions, protocol {run.protocol}")
    bar = tqdm(total=run.progress_total, unit="q", desc=f"run {run_id}", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        execute_run(run_id, engine=engine, on_progress=progress)
    except (ModelLoadError, RunStopped, KeyboardInterrupt) as exc:
        bar.close()
        reason = str(exc) or "interrupted"
        _end(engine, run_id, "failed" if isinstance(exc, ModelLoadError) else "cancelled", reason, failure_detail(exc))
        _fail(f"run {run_id} stopped: {reason}")
    bar.close()
    score_run(run_id, engine=engine)
    _end(engine, run_id, "finished")
    out = export_run(run_id, json_out or get_settings().data_dir / "runs" / f"run-{run_id}.json", engine=engine)
    _print_scores(engine, run_id)
    typer.echo(f"results: {out}")


def _end(engine, run_id: int, status: str, reason: str | None = None, detail: str | None = None) -> None:  # type: ignore[no-untyped-def]
    from evaluator.tables import EvalRun

    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        run.status, run.finished_at, run.error_public, run.error_detail = status, utcnow(), reason, detail
        session.add(run)
        session.commit()


def _print_scores(engine, run_id: int) -> None:  # type: ignore[no-untyped-def]
    from evaluator.tables import DimensionScore, TaskScore

    def pct(value: float | None) -> str:
        return "   -  " if value is None else f"{100 * value:5.1f}%"

    with Session(engine) as session:
        for t in session.exec(select(TaskScore).where(TaskScore.run_id == run_id).order_by(TaskScore.task)):
            e = t.extras
            typer.echo(f"  {t.task:<14} {t.metric:<20} {pct(t.score)} [{pct(t.ci_low)}, {pct(t.ci_high)}]"
                       f"  strict {pct(e.get('strict_accuracy'))}  robust {pct(e.get('robustness'))}")
        for d in session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)
                              .order_by(DimensionScore.dimension)):
            typer.echo(f"  [{d.dimension}] {pct(d.score)} [{pct(d.ci_low)}, {pct(d.ci_high)}]"
                       f"  robust {pct(d.robustness)}")


def score_command(run_id: int = typer.Argument(..., help="Run to re-score from its stored outputs.")) -> None:
    """Re-score a run from its stored outputs (no model needed): after a scoring rule changed."""
    from common.db import get_engine
    from evaluator.engine.scoring import score_run

    try:
        score_run(run_id, engine=get_engine())
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"run {run_id} re-scored")


def export_command(run_id: int = typer.Argument(...), path: Path = typer.Argument(..., help="JSON file to write.")) -> None:
    """Write a run's spec, environment, per-item rows and scores to a JSON file."""
    from common.db import get_engine
    from evaluator.engine.scoring import export_run

    try:
        typer.echo(f"wrote {export_run(run_id, path, engine=get_engine())}")
    except ValueError as exc:
        _fail(str(exc))


def register(app: typer.Typer) -> None:
    """Add the offline evaluation commands to the evaluator CLI."""
    app.command("run")(run_command)
    app.command("score")(score_command)
    app.command("export")(export_command)
