"""Settings bounds: every bad value is refused with one line naming the variable and its rule, in the settings
object itself, the CLI (a real process), the worker entry (a real process) and the site (AppTest)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import annotated_types
import pytest
from streamlit.testing.v1 import AppTest

from common.settings import Settings, SettingsError, get_settings
from tests.pages import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")

BAD = [  # (variable, value, words of the rule the message must carry)
    ("RATE_LIMIT_DAYS", "-1", "greater than or equal to 1"),
    ("RATE_LIMIT_COUNT", "0", "greater than or equal to 1"),
    ("MAX_PARAMS_B", "-1", "greater than 0"),
    ("SIGN_IN_DAYS", "0", "greater than or equal to 1"),
    ("RAY_ACTORS", "-1", "greater than or equal to 0"),
    ("DEMO_MODELS", "maybe", "valid boolean"),
    ("PLANNER_DEVICE", "tpu", "'cpu'"),
    ("PLANNER_GPUS", "0", "greater than or equal to 1"),
    ("DEVICE", "tpu", "'cuda'"),
    ("WORKER_POLL_SECONDS", "0", "greater than 0"),
    ("LEASE_SECONDS", "0", "greater than or equal to 1"),
    ("RUN_TIME_LIMIT_S", "-5", "greater than 0"),
    ("MIN_FREE_DISK_GB", "-1", "greater than or equal to 0"),
    ("MAX_ATTEMPTS", "0", "greater than or equal to 1"),
    ("MODEL_CACHE_QUOTA_GB", "-2", "greater than or equal to 0"),
    ("RESCORE_INTERVAL_S", "0", "greater than 0"),
    ("IMPORT_MAX_FILES", "0", "greater than or equal to 1"),
    ("IMPORT_MAX_BYTES", "-1", "greater than or equal to 1"),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_one_line_naming_the_variable(monkeypatch, settings_env, name: str, value: str,
                                                    rule: str) -> None:
    monkeypatch.setenv(f"MEDBENCH_{name}", value)
    get_settings.cache_clear()
    with pytest.raises(SettingsError) as caught:
        get_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert f"MEDBENCH_{name}={value!r}" in message and rule in message


def test_every_numeric_setting_has_a_bound() -> None:
    unbounded = []
    for name, field in Settings.model_fields.items():
        if field.annotation in (int, float):
            if not any(isinstance(m, (annotated_types.Ge, annotated_types.Gt)) for m in field.metadata):
                unbounded.append(name)
    assert unbounded == []


def test_defaults_are_valid(settings_env) -> None:
    assert get_settings().rate_limit_days == 7


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBENCH_")}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


def test_cli_prints_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "cli.py", "eval", "list-suites"], cwd=ROOT, text=True, capture_output=True,
                          env=_env(MEDBENCH_DATA_DIR=str(tmp_path), MEDBENCH_RATE_LIMIT_DAYS="-1"), timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting MEDBENCH_RATE_LIMIT_DAYS='-1': Input should be greater than or equal to 1"]


def test_worker_prints_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "evaluator.ops.worker", "--until-idle"], cwd=ROOT, text=True,
                          capture_output=True, timeout=300,
                          env=_env(MEDBENCH_DATA_DIR=str(tmp_path), MEDBENCH_RAY_ACTORS="-1"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting MEDBENCH_RAY_ACTORS='-1': Input should be greater than or equal to 0"]


def test_site_shows_one_error_and_stops(monkeypatch, settings_env) -> None:
    monkeypatch.setenv("MEDBENCH_PLANNER_DEVICE", "tpu")
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1
    assert shown(at.error[0].value).startswith("invalid setting MEDBENCH_PLANNER_DEVICE='tpu': Input should be")
    assert "\n" not in at.error[0].value
