"""A real PostgreSQL server for the tests: initdb + pg_ctl on a free port in a temporary folder.

Uses Debian's ``postgresql`` binaries (installed by scripts/run-tests.sh). Running as root, the server runs as the
``postgres`` user, as PostgreSQL refuses root. MEDBENCH_TEST_PG_URL points the tests at an existing server instead.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg


def _bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql (scripts/run-tests.sh does)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    base_url: str  # postgresql+psycopg://user@host:port
    workdir: Path | None = None

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.base_url.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        if self.workdir:
            subprocess.run(_as_pg_user([_bin("pg_ctl"), "-D", str(self.workdir / "data"), "-m", "immediate", "stop"]),
                           capture_output=True)
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_pg_server() -> PgServer:
    existing = os.environ.get("MEDBENCH_TEST_PG_URL")
    if existing:
        return PgServer(existing.rstrip("/"))
    workdir = Path(tempfile.mkdtemp(prefix="medbench-pg-"))
    os.chmod(workdir, 0o755)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    port = _free_port()
    data = workdir / "data"
    subprocess.run(_as_pg_user([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                "--no-locale"]), check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off -c max_connections=200"
    subprocess.run(_as_pg_user([_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(workdir / "log"), "-w",
                                "start"]), check=True, capture_output=True)
    return PgServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}", workdir)
