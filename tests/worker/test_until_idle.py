"""``--until-idle`` does not exit while a crashed worker's run waits for its lease to expire: it takes the run over
and finishes it, then stops (the worker's real serve loop, on SQLite and PostgreSQL)."""
from __future__ import annotations

import time

from evaluator.ops.leases import claim_next_run
from evaluator.ops.worker import Worker, serve
from tests.worker.factories import add_model, add_suite, approve, demo_items, run_row, runs_of, submission_state, \
    worker_settings


def test_until_idle_waits_for_a_crashed_workers_run(any_engine, tiny_models) -> None:
    add_suite(any_engine, demo_items("Med-Exam", 2))
    sub = approve(any_engine, add_model(any_engine, "demo/m", params=1, local_path=tiny_models["letter_a"]))
    settings = worker_settings(lease_seconds=3.0)
    Worker(any_engine, settings, owner="dead:1:cpu").queue_approved()
    crashed = claim_next_run(any_engine, "dead:1:cpu", lease_seconds=3.0)  # claimed, then never renewed: a crash
    assert crashed is not None

    worker = Worker(any_engine, settings, owner="live:2:cpu")
    began = time.monotonic()
    serve(worker, settings, until_idle=True)

    assert time.monotonic() - began >= 2.0  # it waited for the lease rather than exiting at once
    row = run_row(any_engine, crashed.run_id)
    assert (row.status, row.attempts) == ("finished", 2)
    assert "taken over by live:2:cpu (lease of dead:1:cpu went stale)" in row.log
    assert submission_state(any_engine, sub) == "finished" and len(runs_of(any_engine, sub)) == 1
