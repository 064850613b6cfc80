"""Submissions commands: create accounts, grant the organizer role, reset passwords, list users and the queue.

Mounted as ``python cli.py users ...``. Passwords are read from a hidden prompt (or --password-stdin) so they never
land in shell history.
"""
from __future__ import annotations

import sys
from typing import Optional

import typer

app = typer.Typer(no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("create-user")
def create_user_command(
    username: str,
    email: str = typer.Option("", help="Optional e-mail, used as the default contact."),
    organizer: bool = typer.Option(False, "--organizer", help="Grant the organizer role at once."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a local account (password hashed with argon2)."""
    from submissions.accounts import AccountError, create_user

    password = _read_password(password_stdin)
    try:
        user = create_user(username, password, email=email or None, organizer=organizer)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"created user {user.username} (id {user.id}{', organizer' if user.is_organizer else ''})")


@app.command("reset-password")
def reset_password_command(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from standard input."),
) -> None:
    """Give an account a new password (the same rules as sign-up); its remembered sign-ins end (audited)."""
    from submissions.account_changes import reset_password
    from submissions.accounts import AccountError

    password = _read_password(password_stdin)
    try:
        user = reset_password(username, password)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"password of {user.username} reset; its remembered sign-ins ended")


@app.command("duplicate-names")
def duplicate_names_command(
    rename: bool = typer.Option(False, "--rename", help="Rename every later account of a group to NAME-ID."),
) -> None:
    """List user names that differ only in case (a database from before names were case-insensitive); with
    --rename, the oldest keeps its name and the others become NAME-ID (audited). Exits 1 while any remain."""
    from submissions.account_changes import duplicate_names, rename_duplicates

    if rename:
        for old, new in rename_duplicates():
            typer.echo(f"renamed {old} -> {new}")
    groups = duplicate_names()
    for group in groups:
        typer.echo("  ".join(f"{name} (id {user_id})" for user_id, name in group))
    if groups:
        _fail(f"{len(groups)} user name(s) differ only in case; run with --rename")
    typer.echo("no user names differ only in case")


@app.command("grant-organizer")
def grant_organizer_command(username: str) -> None:
    """Grant the organizer role (recorded in the audit log as done by the CLI)."""
    from submissions.accounts import AccountError, set_organizer

    try:
        user = set_organizer(None, username, True)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"{user.username} is an organizer")


@app.command("revoke-organizer")
def revoke_organizer_command(username: str) -> None:
    """Take the organizer role away (audited)."""
    from submissions.accounts import AccountError, set_organizer

    try:
        user = set_organizer(None, username, False)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"{user.username} is no longer an organizer")


@app.command("list-users")
def list_users_command() -> None:
    """Every account: name, role, sign-in kind."""
    from submissions.accounts import list_users

    for user in list_users():
        kind = "oidc" if user.oidc_subject else "local"
        role = "organizer" if user.is_organizer else "submitter"
        typer.echo(f"{user.id}\t{user.username}\t{role}\t{kind}\t{user.email or ''}")


@app.command("queue")
def queue_command() -> None:
    """The queue as the public Queue page shows it: running (or cancelling), waiting, failed, cancelled."""
    from submissions.views import format_eta, queue_overview

    overview = queue_overview()
    sections = (("running", overview.running), ("waiting", overview.waiting), ("failed", overview.failed),
                ("cancelled", overview.cancelled))
    for title, rows in sections:
        typer.echo(f"{title}: {len(rows)}")
        for r in rows:
            if title == "running":
                extra = f"{r.progress_done}/{r.progress_total} " + ("cancelling" if r.cancelling
                                                                     else format_eta(r.eta_seconds))
            elif title in ("failed", "cancelled"):
                extra = (r.error_public if title == "failed" else None) or r.reason or ""
            else:
                extra = r.state
            typer.echo(f"  #{r.submission_id}\t{r.hub_id}@{r.commit_sha[:12]}\t{r.precision}\t{extra}")


@app.command("add-served-model")
def add_served_model_command(
    endpoint: str = typer.Option(..., help="OpenAI-compatible base URL, e.g. https://api.example.com/v1."),
    model_name: str = typer.Option(..., "--model-name", help="The model's name as the endpoint lists it (GET /v1/models)."),
    key_name: str = typer.Option("", "--key-name", help="Name of the API key's secret: MEDBENCH_API_KEY_<NAME> "
                                 "(or api_keys.<name> in secrets.toml). Empty: the endpoint needs no key."),
    label: str = typer.Option("", help="How the leaderboard names it (default: the model name)."),
    temperature: float = typer.Option(0.0, help="Sampling temperature (0: greedy)."),
    top_p: Optional[float] = typer.Option(None, "--top-p", help="Nucleus sampling (default: the endpoint's)."),
    seed: Optional[int] = typer.Option(None, help="Seed sent with every request, where the endpoint honours one."),
    price_input: float = typer.Option(0.0, "--price-input", help="Price of 1M prompt tokens (for the run's cost)."),
    price_output: float = typer.Option(0.0, "--price-output", help="Price of 1M generated tokens."),
    currency: str = typer.Option("USD", help="Currency of the prices (ISO code)."),
) -> None:
    """Add a model served behind an OpenAI-compatible endpoint (audited): it is checked, then queued for
    evaluation like a submission. The API key is read from the environment by name, never given here."""
    from submissions.served import ServedModelError, add_served_model

    decoding = {"temperature": temperature, "top_p": top_p, "seed": seed, "price_input_per_1m": price_input,
                "price_output_per_1m": price_output, "currency": currency}
    try:
        added = add_served_model(None, endpoint=endpoint, model_name=model_name, key_name=key_name or None,
                                 label=label or None, decoding=decoding)
    except ServedModelError as exc:
        _fail(str(exc))
    typer.echo(added.message)
