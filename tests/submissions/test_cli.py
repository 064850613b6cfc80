"""``python cli.py users ...``: once as a real process, then in-process through typer's runner (same code, faster)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import _register_groups, app

from submissions.accounts import authenticate
from submissions.tables import AuditLog, User

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str = "", env_db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDBENCH_DATABASE_URL": env_db, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "cli.py", "users", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, env=env, timeout=120)


def users(*args: str, stdin: str = "") -> tuple[int, str, str]:
    if not app.registered_groups:
        _register_groups()
    result = CliRunner().invoke(app, ["users", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_create_user_in_a_real_process(engine) -> None:
    made = cli("create-user", "olga", "--email", "olga@example.org", "--password-stdin", stdin="a good password\n",
               env_db=str(engine.url))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created user olga (id ")
    assert authenticate("olga", "a good password") is not None


def test_create_grant_list_and_refusals(engine) -> None:
    code, out, _ = users("create-user", "olga", "--email", "olga@example.org", "--password-stdin",
                         stdin="a good password\n")
    assert code == 0 and out.startswith("created user olga (id ")
    code, _, err = users("create-user", "petr", "--password-stdin", stdin="short\n")
    assert code == 1 and "error: Password: at least 8 characters." in err
    code, _, err = users("create-user", "olga", "--password-stdin", stdin="another password\n")
    assert code == 1 and "is taken" in err
    code, out, _ = users("grant-organizer", "olga")
    assert code == 0 and out.strip() == "olga is an organizer"
    code, _, err = users("grant-organizer", "nobody")
    assert code == 1 and "No user named 'nobody'" in err
    code, out, _ = users("list-users")
    assert out.split("\n")[0].split("\t")[1:] == ["olga", "organizer", "local", "olga@example.org"]
    with Session(engine) as s:
        assert [u.username for u in s.exec(select(User))] == ["olga"]
        audit = s.exec(select(AuditLog)).one()
    assert (audit.actor_name, audit.action, audit.after) == ("CLI", "grant_organizer", {"is_organizer": True, "by": "cli"})
    code, out, _ = users("revoke-organizer", "olga")
    assert code == 0 and out.strip() == "olga is no longer an organizer"


def test_queue_command_lists_running_waiting_failed_cancelled(engine) -> None:
    from tests.submissions.factories import add_run, add_submission

    add_submission(engine, None, state="approved", hub_id="org/waiting")
    running = add_submission(engine, None, state="running", hub_id="org/running")
    add_run(engine, running, done=5, total=20, eta=120)
    failed = add_submission(engine, None, state="failed", hub_id="org/failed")
    add_run(engine, failed, status="failed", error="out of memory")
    add_submission(engine, None, state="cancelled", hub_id="org/cancelled", reason="wrong revision")
    code, out, _ = users("queue")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "running: 1" and "org/running@" in lines[1] and lines[1].endswith("5/20 2 min")
    assert lines[2] == "waiting: 1" and lines[3].endswith("approved")
    assert lines[4] == "failed: 1" and lines[5].endswith("out of memory")
    assert lines[6] == "cancelled: 1" and lines[7].endswith("wrong revision")


def test_reset_password_from_stdin_or_prompt_prints_nothing_secret(engine) -> None:
    from submissions.remember import issue_token, user_for_token

    code, _, _ = users("create-user", "olga", "--password-stdin", stdin="a good password\n")
    token = issue_token(authenticate("olga", "a good password"))
    code, _, err = users("reset-password", "olga", "--password-stdin", stdin="12345678\n")
    assert code == 1 and err.startswith("error: Password: too easy to guess.")
    code, _, err = users("reset-password", "nobody", "--password-stdin", stdin="amber falcon 77\n")
    assert code == 1 and "No user named 'nobody'" in err
    assert authenticate("olga", "a good password") is not None  # refusals changed nothing
    code, out, err = users("reset-password", "OLGA", stdin="amber falcon 77\namber falcon 77\n")  # hidden prompt
    assert code == 0 and out.splitlines()[-1] == "password of olga reset; its remembered sign-ins ended"
    assert "amber falcon 77" not in out + err
    assert authenticate("olga", "amber falcon 77") is not None and user_for_token(token) is None
    with Session(engine) as s:
        audit = s.exec(select(AuditLog)).one()
    assert (audit.actor_name, audit.action) == ("CLI", "reset_password")


def test_reset_password_in_a_real_process(engine) -> None:
    users("create-user", "olga", "--password-stdin", stdin="a good password\n")
    reset = cli("reset-password", "olga", "--password-stdin", stdin="amber falcon 77\n", env_db=str(engine.url))
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout == "password of olga reset; its remembered sign-ins ended\n" and reset.stderr == ""


def test_user_names_are_case_insensitive_and_duplicates_are_checked(engine) -> None:
    code, _, _ = users("create-user", "Olga", "--password-stdin", stdin="a good password\n")
    code, _, err = users("create-user", "olga", "--password-stdin", stdin="another password\n")
    assert code == 1 and "error: The user name 'olga' is taken." in err
    code, out, _ = users("grant-organizer", "OLGA")
    assert code == 0 and out.strip() == "Olga is an organizer"
    code, out, _ = users("duplicate-names")
    assert code == 0 and out.strip() == "no user names differ only in case"
