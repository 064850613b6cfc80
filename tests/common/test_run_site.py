"""README's first command, as a new user runs it: serves the app, starts the worker, Ctrl-C stops both."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pgid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,pgid=,args=", "-e"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[1] == str(pgid) and "ps -o" not in line]


def test_run_site_serves_app_and_worker_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "MEDBENCH_DATA_DIR": str(tmp_path / "data"),
           "MEDBENCH_MODEL_CACHE_DIR": str(tmp_path / "models"), "MEDBENCH_DEMO_MODELS": "false"}
    env.pop("MEDBENCH_DATABASE_URL", None)
    log = open(tmp_path / "site.log", "w")
    proc = subprocess.Popen(["bash", "scripts/run-site.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.time() + 240
        healthy = False
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                    healthy = resp.status == 200
                    if healthy:
                        break
            except OSError:
                time.sleep(1)
        assert healthy, (tmp_path / "site.log").read_text()
        procs = _children(proc.pid)
        assert any("evaluator.ops.worker" in p for p in procs), procs
        assert any("streamlit" in p for p in procs), procs
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert resp.status == 200
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(timeout=60) == 0, (tmp_path / "site.log").read_text()
        deadline = time.time() + 20
        while _children(proc.pid) and time.time() < deadline:
            time.sleep(0.5)
        assert _children(proc.pid) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
