"""Suite commands of the ``eval`` group: import (with a dry run), export, list, activate.

A refused import prints every problem (``file:line: reason``) and exits with status 1, having written nothing.
"""
from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from common.db import session_scope
from evaluator.benchmark.suites.importer import ActivationRefused, activate_suite, export_suite, import_suite, list_suites
from evaluator.benchmark.suites.preview import SuitePreview, preview_suite
from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.visibility import PRIVATE, PUBLIC, set_visibility


class Visibility(StrEnum):
    private = PRIVATE
    public = PUBLIC


class Format(StrEnum):
    auto = "auto"
    medbench = "medbench"
    csv = "csv"
    jsonl = "jsonl"


def format_preview(preview: SuitePreview) -> str:
    """The preview as plain text: a table per task, totals per dimension, then every problem."""
    lines = [f"{'dimension':<14} {'task':<14} {'kind':<15} {'items':>6} {'scored':>7}"]
    lines += [f"{t.dimension:<14} {t.task:<14} {t.kind:<15} {t.items:>6} {t.scored:>7}" for t in preview.tasks]
    lines.append(f"{'total':<45} {preview.item_count:>6} {preview.scored_count:>7}")
    lines.append("per dimension: " + ", ".join(f"{d} {n}" for d, n in preview.by_dimension().items()))
    if preview.skipped:
        lines.append(f"skipped (not suite data): {', '.join(preview.skipped)}")
    if preview.version:
        lines.append(f"version: {preview.version}")
    if preview.existing_suite_id is not None:
        lines.append(f"already stored as suite {preview.existing_suite_id}: importing again changes nothing")
    if preview.problems:
        lines.append(f"{len(preview.problems)} problem(s):")
        lines += [f"  {problem}" for problem in preview.problems]
    return "\n".join(lines)


def _fail(error: SuiteError) -> None:
    typer.echo(f"error: {error.summary}", err=True)
    for problem in error.problems:
        typer.echo(f"  {problem}", err=True)
    if isinstance(error, ActivationRefused):
        typer.echo("  (add --force to activate it anyway)", err=True)
    raise typer.Exit(1)


def import_suite_command(
    path: Path = typer.Argument(..., help="A folder, a .jsonl/.csv file or a .zip of them."),
    name: str = typer.Option(..., "--name", help="The suite's name, e.g. medbench-2024."),
    fmt: Format = typer.Option(Format.auto, "--format", help="Force one format (default: detect per file)."),
    task: str = typer.Option(None, "--task", help="Task for CSV files (C-Eval/CMMLU carry none)."),
    activate: bool = typer.Option(False, "--activate", help="Make it the active suite."),
    force: bool = typer.Option(False, "--force", help="With --activate: activate even if it lacks ranked tasks."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the preview and problems; write nothing."),
    visibility: Visibility = typer.Option(
        Visibility.private, "--visibility",
        help="private (default): only aggregate scores are public; public: questions, answers, prompts and outputs "
             "may be shown and exported."),
) -> None:
    """Import a suite (atomic: any bad row refuses the whole import and every problem is listed)."""
    if dry_run:
        with session_scope() as session:
            preview = preview_suite(path, fmt=fmt.value, task=task, session=session)
        typer.echo(format_preview(preview))
        typer.echo(f"visibility on import: {visibility.value}")
        raise typer.Exit(0 if preview.ok else 1)
    try:
        with session_scope() as session:
            known = {s.id for s in list_suites(session)}
            suite = import_suite(session, path, name, fmt=fmt.value, task=task, activate=activate, force=force,
                                 visibility=visibility.value)
    except SuiteError as error:
        _fail(error)
    if suite.id in known:
        typer.echo(f"identical content is already stored as suite {suite.id} {suite.name!r}: nothing imported "
                   f"(its visibility stays {suite.visibility}; change it with `eval set-visibility`)")
    typer.echo(f"suite {suite.id} {suite.name!r}: {suite.item_count} items, version {suite.version}, "
               f"{suite.visibility}" + (" (active)" if suite.active else ""))


def export_suite_command(
    suite_id: int = typer.Argument(..., help="Suite id (see list-suites)."),
    out_dir: Path = typer.Argument(..., help="A new or empty folder."),
) -> None:
    """Write a suite as project JSONL, one <Task>.jsonl per task (re-imports to the same version)."""
    try:
        with session_scope() as session:
            files = export_suite(session, suite_id, out_dir)
    except SuiteError as error:
        _fail(error)
    typer.echo(f"wrote {len(files)} file(s) to {out_dir}")


def list_suites_command() -> None:
    """List suites: id, name, version, items, active."""
    with session_scope() as session:
        suites = list_suites(session)
    if not suites:
        typer.echo("no suites yet: import one with `eval import-suite PATH --name NAME`")
        return
    typer.echo(f"{'id':>4}  {'name':<24} {'version':<14} {'items':>6}  {'visibility':<10}  active")
    for suite in suites:
        typer.echo(f"{suite.id:>4}  {suite.name:<24} {suite.version[:12]:<14} {suite.item_count:>6}  "
                   f"{suite.visibility:<10}  {'yes' if suite.active else ''}")


def activate_suite_command(
    suite_id: int = typer.Argument(..., help="Suite id (see list-suites)."),
    force: bool = typer.Option(False, "--force", help="Activate even if it lacks tasks the leaderboard ranks on."),
) -> None:
    """Make a suite the active one: new runs use it and the leaderboard ranks on it."""
    try:
        with session_scope() as session:
            suite = activate_suite(session, suite_id, force=force)
    except SuiteError as error:
        _fail(error)
    typer.echo(f"active suite: {suite.id} {suite.name!r} (version {suite.version[:12]})")


def set_visibility_command(
    suite_id: int = typer.Argument(..., help="Suite id (see list-suites)."),
    visibility: Visibility = typer.Argument(..., help="private or public"),
) -> None:
    """Make a suite public or private (audited, before and after; the operator's command counts as an organizer's)."""
    try:
        with session_scope() as session:
            suite = set_visibility(session, suite_id, visibility.value, actor=None)
    except SuiteError as error:
        _fail(error)
    typer.echo(f"suite {suite.id} {suite.name!r} is {suite.visibility}")


def register(app: typer.Typer) -> None:
    """Add the suite commands to the evaluator CLI."""
    app.command("import-suite")(import_suite_command)
    app.command("export-suite")(export_suite_command)
    app.command("list-suites")(list_suites_command)
    app.command("activate-suite")(activate_suite_command)
    app.command("set-visibility")(set_visibility_command)
