"""Organizers see the planner's time and memory estimate of a submission's run before approving it."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from common.settings import SettingsError, get_settings
from evaluator.engine.planner import get_profile
from evaluator.benchmark.suites.bundled import ensure_demo_suite
from submissions.accounts import create_user
from submissions.planning import PlannerDevice, planner_device
from tests.pages import shown
from tests.submissions.factories import add_submission

PAGE = str(Path(__file__).resolve().parents[2] / "submissions" / "pages" / "moderation.py")


def _captions(at: AppTest) -> list[str]:
    return [shown(c.value) for c in at.caption if c.value.startswith("Planned run:")]


def test_moderation_shows_the_planned_run(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    sub = add_submission(engine, None)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_id"] = org.id
    at.run()
    assert not at.exception
    assert _captions(at) == ["Planned run: no estimate: no suite is active"]

    with Session(engine) as s:
        ensure_demo_suite(s)
        s.commit()
    at.selectbox(key="history_of").set_value(sub)
    at.run()
    (caption,) = _captions(at)
    assert "no estimate" not in caption and "suite demo" in caption, caption


def test_the_planner_device_follows_the_workers_settings(settings_env) -> None:
    cpu, cuda = (settings_env.model_copy(update={"device": d}) for d in ("cpu", "cuda"))
    assert planner_device(cpu) == PlannerDevice("cpu", 1, "the workers' MEDBENCH_DEVICE=cpu")
    assert planner_device(cuda) == PlannerDevice("h100", 1, "the workers' MEDBENCH_DEVICE=cuda")
    named = cuda.model_copy(update={"planner_device": "h200", "planner_gpus": 4})
    assert planner_device(named) == PlannerDevice("h200", 4, "MEDBENCH_PLANNER_DEVICE=h200")
    assert get_profile("cpu") is get_profile("cpu")  # measured once per process: redraws stay fast


@pytest.mark.parametrize(("name", "value", "message"), [("MEDBENCH_PLANNER_DEVICE", "tpu", "planner_device"),
                                                       ("MEDBENCH_PLANNER_GPUS", "0", "planner_gpus")])
def test_a_bad_planner_setting_is_named(monkeypatch, settings_env, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match=name):
        get_settings()


@pytest.mark.parametrize(("env", "estimate", "assumes"), [
    ({"MEDBENCH_DEVICE": "cpu"}, "on 1 × CPU (", "assumes CPU ("),
    ({"MEDBENCH_DEVICE": "cpu", "MEDBENCH_PLANNER_DEVICE": "h200", "MEDBENCH_PLANNER_GPUS": "2"},
     "on 2 × H200 141GB, bfloat16", "assumes 2 × H200 141GB, from MEDBENCH_PLANNER_DEVICE=h200"),
])
def test_the_page_says_which_device_the_estimate_assumes(engine, monkeypatch, env: dict[str, str], estimate: str,
                                                        assumes: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    org = create_user("olga", "amber falcon 77", organizer=True)
    add_submission(engine, None)
    with Session(engine) as s:
        ensure_demo_suite(s)
        s.commit()
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_id"] = org.id
    at.run()
    (caption,) = _captions(at)
    assert estimate in caption and "H100" not in caption, caption
    assert any(assumes in shown(c.value) for c in at.caption), [c.value for c in at.caption]
