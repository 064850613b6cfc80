"""The compose set-up is consistent with the code: every variable it reads is documented in env.example, every
file it mounts or builds from exists, and the commands it runs are real entry points of the project."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_variable_the_compose_file_reads_is_in_env_example():
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")))
    example = {line.split("=", 1)[0] for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#")}
    assert used and used <= example, used - example


def test_builds_and_mounts_point_at_files_that_exist():
    services = compose()["services"]
    for name, service in services.items():
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, source)
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for copied in re.findall(r"^COPY ([^.\n][^\n]*) \./$", dockerfile, flags=re.M):
        assert all((ROOT / f).is_file() for f in copied.split()), copied


def test_services_run_real_entry_points_and_one_worker_owns_each_gpu():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["python", "cli.py", "init-db"]
    for name, service in services.items():
        command = service.get("command") or []
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, name
    gpus = [tuple(d["device_ids"]) for s in services.values()
            for d in s.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])]
    flat = [g for ids in gpus for g in ids]
    assert len(flat) == len(set(flat)), "two services reserve the same GPU"
    db_url = services["app"]["environment"]["MEDBENCH_DATABASE_URL"]
    assert db_url.startswith("postgresql+psycopg://")
    assert all(s["environment"]["MEDBENCH_DATABASE_URL"] == db_url
               for n, s in services.items() if n.startswith(("worker", "migrate", "app")))
