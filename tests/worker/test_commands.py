"""``cli.py eval worker | bootstrap-demo | rescore | cancel`` through typer's real command line."""
from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import Session
from typer.testing import CliRunner

from evaluator import EVALUATOR_VERSION
from evaluator.ops.cli import app
from evaluator.tables import EvalRun
from tests.worker.factories import add_model, add_suite, approve, demo_items, run_row, runs_of


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_worker_until_idle_then_rescore_and_cancel(engine, tiny_models, monkeypatch) -> None:
    monkeypatch.setenv("MEDBENCH_WORKER_POLL_SECONDS", "0.2")
    add_suite(engine, demo_items("DrugCA", 2))
    sub = approve(engine, add_model(engine, "demo/a", local_path=tiny_models["letter_a"]))

    result = invoke("worker", "--until-idle", "--device", "cpu")
    assert result.exit_code == 0, result.output
    (run,) = runs_of(engine, sub)
    assert run.status == "finished"

    assert invoke("rescore").output.strip() == "re-scored 0 outdated run(s)"
    with Session(engine) as s:
        s.execute(update(EvalRun).where(EvalRun.id == run.id).values(evaluator_version="0.0.1"))
        s.commit()
    assert invoke("rescore").output.strip() == f"re-scored 1 outdated run(s): {run.id}"
    assert run_row(engine, run.id).evaluator_version == EVALUATOR_VERSION
    assert invoke("rescore", str(run.id)).output.strip() == f"re-scored run(s) {run.id}"

    refused = invoke("rescore", str(run.id), "999")
    assert refused.exit_code == 1 and "not finished runs: 999; nothing was re-scored" in refused.output
    refused = invoke("cancel", str(run.id))
    assert refused.exit_code == 1 and "has already ended (finished)" in refused.output
    assert run_row(engine, run.id).status == "finished"


def test_cancel_pending_run(engine, tiny_models) -> None:
    from tests.worker.factories import add_pending_run

    run_id, _ = add_pending_run(engine, add_suite(engine, demo_items("DrugCA", 1)), add_model(engine, "demo/a"))
    result = invoke("cancel", str(run_id))
    assert result.exit_code == 0 and "cancelled before it started" in result.output
    assert run_row(engine, run_id).error_public == "cancelled by cli"
    missing = invoke("cancel", "999")
    assert missing.exit_code == 1 and "run 999 does not exist" in missing.output


def test_bootstrap_demo_switched_off(engine, monkeypatch) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_DEMO_MODELS", "false")
    get_settings.cache_clear()
    result = invoke("bootstrap-demo")
    assert result.exit_code == 0 and result.output.strip() == "demo: demo models are off (MEDBENCH_DEMO_MODELS=false)"


def test_bad_worker_order_setting_stops_with_one_line(engine, monkeypatch) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_WORKER_ORDER", "fastest")
    get_settings.cache_clear()
    result = invoke("worker", "--until-idle", "--device", "cpu")
    assert result.exit_code == 2
    assert "error: unknown worker_order key(s) fastest" in result.output


@pytest.mark.parametrize("value", ["0", "-1"])
def test_worker_refuses_a_non_positive_poll_interval(engine, monkeypatch, value: str) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_WORKER_POLL_SECONDS", value)
    get_settings.cache_clear()
    result = invoke("worker", "--until-idle", "--device", "cpu")
    assert result.exit_code == 2
    assert result.output == f"error: invalid setting MEDBENCH_WORKER_POLL_SECONDS={value!r}: Input should be greater than 0\n"


def test_bad_database_url_stops_the_worker_with_one_line(engine, monkeypatch) -> None:
    from common.db import reset_engines
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_DATABASE_URL", "mysql://nobody@nowhere/db")
    get_settings.cache_clear()
    reset_engines()
    result = invoke("worker", "--until-idle", "--device", "cpu")
    assert result.exit_code == 2
    assert result.output.strip() == "error: Unsupported database 'mysql' in mysql://nobody@nowhere/db: use sqlite or postgresql."
