"""``python cli.py users ...`` as an operator runs it: a real process on a real SQLite file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from submissions.accounts import authenticate
from submissions.tables import AuditLog, User

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str = "", env_db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDBENCH_DATABASE_URL": env_db, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "cli.py", "users", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, env=env, timeout=120)


def test_create_grant_list_and_refusals(engine) -> None:
    url = str(engine.url)
    made = cli("create-user", "olga", "--email", "olga@example.org", "--password-stdin", stdin="a good password\n",
               env_db=url)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created user olga (id ")
    assert authenticate("olga", "a good password") is not None
    short = cli("create-user", "petr", "--password-stdin", stdin="short\n", env_db=url)
    assert short.returncode == 1 and "error: Password: at least 8 characters." in short.stderr
    again = cli("create-user", "olga", "--password-stdin", stdin="another password\n", env_db=url)
    assert again.returncode == 1 and "is taken" in again.stderr
    granted = cli("grant-organizer", "olga", env_db=url)
    assert granted.returncode == 0 and granted.stdout.strip() == "olga is an organizer"
    missing = cli("grant-organizer", "nobody", env_db=url)
    assert missing.returncode == 1 and "No user named 'nobody'" in missing.stderr
    listing = cli("list-users", env_db=url)
    assert listing.stdout.split("\n")[0].split("\t")[1:] == ["olga", "organizer", "local", "olga@example.org"]
    with Session(engine) as s:
        assert [u.username for u in s.exec(select(User))] == ["olga"]
        audit = s.exec(select(AuditLog)).one()
    assert (audit.action, audit.after) == ("grant_organizer", {"is_organizer": True, "by": "cli"})
