"""An organizer cancels a running evaluation and re-runs it seconds later, before the worker has noticed the
cancel (it checks between chunks). The worker's late end of the old run must not overwrite the re-run: the
submission stays approved (or follows its newer run), and the old run's log says why it was left alone."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evaluator.ops.leases import claim_next_run, end_run
from evaluator.ops.worker import Worker
from submissions.accounts import create_user
from submissions.moderation import moderate
from submissions.tables import SubmissionEvent, User
from tests.worker.factories import (
    add_model,
    add_suite,
    approve,
    demo_items,
    run_row,
    runs_of,
    submission_state,
    worker_settings,
)


@pytest.fixture
def organizer(any_engine) -> User:  # type: ignore[no-untyped-def]
    return create_user("olga", "organizer pass 42", organizer=True)


def _events(engine, sub_id: int) -> list[tuple[str | None, str, str]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub_id)
                      .order_by(SubmissionEvent.id)).all()
    return [(e.from_state, e.to_state, e.actor_name) for e in rows]


def test_the_workers_late_cancel_keeps_the_organizers_rerun(any_engine, tiny_models, organizer) -> None:
    add_suite(any_engine, demo_items("Med-Exam", 2))
    sub = approve(any_engine, add_model(any_engine, "demo/m", params=1, local_path=tiny_models["letter_a"]))
    worker = Worker(any_engine, worker_settings(), owner="w-test")
    (old_run,) = worker.queue_approved()
    claim = claim_next_run(any_engine, worker.owner, lease_seconds=60)
    assert claim is not None and submission_state(any_engine, sub) == "running"

    moderate(organizer.id, "cancel", [sub])  # running -> cancelled, the run is flagged
    moderate(organizer.id, "rerun", [sub])   # cancelled -> approved, before the worker noticed
    assert worker.process(claim) == "cancelled"  # the worker stops the old run at its first chunk

    assert run_row(any_engine, old_run).status == "cancelled"
    assert submission_state(any_engine, sub) == "approved"
    assert _events(any_engine, sub)[-2:] == [("running", "cancelled", "olga"), ("cancelled", "approved", "olga")]
    assert f"submission #{sub} left approved (not cancelled)" in run_row(any_engine, old_run).log
    (new_run,) = worker.queue_approved()  # the re-run is queued as a new run
    assert new_run != old_run and submission_state(any_engine, sub) == "pending"


def test_the_old_runs_end_leaves_a_newer_run_in_charge(any_engine, organizer) -> None:
    add_suite(any_engine, demo_items("Med-Exam", 1))
    sub = approve(any_engine, add_model(any_engine, "demo/m", params=1))
    worker = Worker(any_engine, worker_settings(), owner="w1")
    (old_run,) = worker.queue_approved()
    assert claim_next_run(any_engine, "w1", lease_seconds=60) is not None
    moderate(organizer.id, "cancel", [sub])
    moderate(organizer.id, "rerun", [sub])
    (new_run,) = worker.queue_approved()
    taken = claim_next_run(any_engine, "w2", lease_seconds=60)  # a second worker takes the re-run at once
    assert taken is not None and taken.run_id == new_run and submission_state(any_engine, sub) == "running"

    assert end_run(any_engine, old_run, "w1", "cancelled", error_public="cancelled by an organizer")
    assert submission_state(any_engine, sub) == "running"  # still the new run's
    assert f"left running (not cancelled): run {new_run} is its latest" in run_row(any_engine, old_run).log
    assert end_run(any_engine, new_run, "w2", "finished")
    assert submission_state(any_engine, sub) == "finished"
    assert [r.status for r in runs_of(any_engine, sub)] == ["cancelled", "finished"]
