"""Fixtures for the scale-out tests: one local Ray cluster (2 CPUs) for the session, demo-suite runs."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.db import get_engine, reset_engines
from common.settings import get_settings
from evaluator.engine.planner import Estimate, estimate_spec
from evaluator.engine.spec import OVERRIDABLE, build_specs
from evaluator.engine.units import create_run
from evaluator.benchmark.suites.importer import get_suite, suite_tasks
from evaluator.benchmark.suites.bundled import ensure_demo_suite
from evaluator.tables import ItemResult, SuiteItem
from evaluator.engine.tiny_models import folder_sha
from submissions.tables import ModelEntry

ROOT = Path(__file__).resolve().parents[2]
# short tasks of every answer mode: letter scoring (5 and 2 orders), multi-choice and cloze generation
TASKS = ["Med-Exam", "DrugCA", "DDx-basic", "MedHG"]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, namespace="medbench", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)},  # the hook runs before Ray adds the code path
                          "worker_process_setup_hook": "tests.distributed.preload.preload"})
    yield ray
    ray.shutdown()


@pytest.fixture
def pg_engine(pg_server, monkeypatch: pytest.MonkeyPatch, settings_env) -> Engine:  # type: ignore[no-untyped-def]
    """A fresh migrated PostgreSQL database (the driver commits there like a production worker)."""
    monkeypatch.setenv("MEDBENCH_DATABASE_URL", pg_server.create_database())
    get_settings.cache_clear()
    reset_engines()
    return get_engine()


def new_runs(engine: Engine, model_folder: Any, count: int = 2, **overrides: Any) -> list[int]:
    """``count`` identical pending runs of a local model on the bundled demo suite (first items of TASKS)."""
    overrides = {"tasks": TASKS, "limit_per_task": 1, "device": "cpu", **overrides}
    with Session(engine) as session:
        suite = ensure_demo_suite(session)
        model = ModelEntry(hub_id=f"local/{model_folder.name}", commit_sha=folder_sha(model_folder),
                           precision="float32", local_path=str(model_folder))
        session.add(model)
        session.flush()
        ids = [create_run(session, model, suite, **overrides).id for _ in range(count)]
        session.commit()
    return ids


def results(engine: Engine, run_id: int) -> dict[tuple[str, int], ItemResult]:
    """A run's rows keyed by (item key, order index), so runs in different databases compare."""
    with Session(engine) as session:
        rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                            .where(ItemResult.run_id == run_id)).all()
    keyed = {(key, row.order_index): row for row, key in rows}
    assert len(keyed) == len(rows)
    return keyed


def assert_same_results(expected: dict[tuple[str, int], ItemResult], got: dict[tuple[str, int], ItemResult]) -> None:
    """Same units, same prompts and outputs; letter log-probs equal up to float32 batching noise."""
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        row = got[key]
        assert (row.prompt, row.raw_output, row.status, row.error_message, row.permutation) == (
            want.prompt, want.raw_output, want.status, want.error_message, want.permutation), key
        assert row.letter_scores.keys() == want.letter_scores.keys(), key
        for letter, value in want.letter_scores.items():
            assert row.letter_scores[letter] == pytest.approx(value, abs=1e-5), key


def estimate_run(model_params: int, suite_id: int, *, engine: Engine, dtype: str = "bfloat16",
                 **settings: Any) -> Estimate:
    """The planner's estimate of the run the evaluator would create for a ``model_params`` model on the suite:
    the real specs (``build_specs``, run settings such as k, tasks, chunk_items) through ``estimate_spec``
    (planner options such as device, gpus, backend). Raises RunSpecError or PlanError as those do."""
    planner_only = {"device", "backend"}  # a device profile ("h100") and the planner's backend, not the run's
    overrides = {key: settings.pop(key) for key in list(settings) if key in OVERRIDABLE - planner_only}
    with Session(engine) as session:
        suite = get_suite(session, suite_id)
        model = ModelEntry(hub_id="planned/model", commit_sha="-", precision=dtype, params=model_params)
        spec, execution = build_specs(model, suite, {task.name for task in suite_tasks(session, suite_id)},
                                      dtype=dtype, **overrides)
        return estimate_spec(session, spec, suite_id, model_params, batch_policy=execution.batch_policy, **settings)

