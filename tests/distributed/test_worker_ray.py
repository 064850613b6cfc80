"""The worker with MEDBENCH_RAY_ACTORS > 0: the run is spread over Ray actors, the worker still owns the lease
and commits, and the stored rows equal those of the in-process worker."""
from __future__ import annotations

from sqlmodel import Session, select

from evaluator.tables import ItemResult
from evaluator.ops.worker import Worker
from tests.worker.factories import add_model, add_suite, approve, demo_items, runs_of, worker_settings


def _rows(engine, run_id: int) -> dict[tuple[int, int], tuple[str | None, dict]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
    return {(r.item_id, r.order_index): (r.raw_output, r.letter_scores) for r in rows}


def test_worker_spreads_a_run_over_ray_actors(engine, tiny_models, ray_cluster) -> None:
    add_suite(engine, demo_items("Med-Exam", 4) + demo_items("DrugCA", 2))
    local = approve(engine, add_model(engine, "demo/local", local_path=tiny_models["letter_a"], params=1))
    Worker(engine, worker_settings()).drain()  # in process
    spread = approve(engine, add_model(engine, "demo/spread", local_path=tiny_models["letter_a"], params=2))
    Worker(engine, worker_settings(ray_actors=2)).drain()  # the same model, spread over two Ray actors
    (local_run,), (spread_run,) = runs_of(engine, local), runs_of(engine, spread)

    assert (local_run.status, spread_run.status) == ("finished", "finished")
    assert "distributed" not in local_run.environment
    assert spread_run.environment["distributed"]["actors"] == 2
    a, b = _rows(engine, local_run.id), _rows(engine, spread_run.id)
    assert len(a) == 4 * 5 + 2 * 2 and a.keys() == b.keys()
    for key in a:
        assert a[key][0] == b[key][0]
        assert a[key][1].keys() == b[key][1].keys()
        assert all(abs(a[key][1][k] - b[key][1][k]) < 1e-4 for k in a[key][1])
