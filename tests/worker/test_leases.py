"""Claims, leases and endings on real SQLite and PostgreSQL: one owner per run, stale leases taken over, the
submission's state kept in step, and every refusal explained."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from common.db import make_engine
from common.timeutil import utcnow
from evaluator.ops.leases import (
    LeaseError,
    append_log,
    claim_next_run,
    end_cancelled_orphans,
    end_run,
    fail_exhausted_runs,
    parse_order,
    queue_order,
    release_lease,
    renew_lease,
    request_cancel,
)
from evaluator.tables import EvalRun
from submissions.tables import Submission
from tests.worker.factories import (
    add_model,
    add_pending_run,
    add_suite,
    choice_item,
    run_row,
    submission_state,
)


@pytest.fixture
def suite_id(any_engine) -> int:  # type: ignore[no-untyped-def]
    return add_suite(any_engine, [choice_item(1)])


def expire_lease(engine, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """What the passing of time does to a lease nobody renews (instead of sleeping through it)."""
    with Session(engine) as s:
        s.execute(update(EvalRun).where(EvalRun.id == run_id)
                  .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()


def _claim_all(engine, owner: str, order=("rerun", "small", "submitted")) -> list[int]:  # type: ignore[no-untyped-def]
    claimed = []
    while (claim := claim_next_run(engine, owner, lease_seconds=60, order=order)) is not None:
        claimed.append(claim.run_id)
    return claimed


def test_claim_order_priority_then_rerun_then_small_then_age(any_engine, suite_id) -> None:
    big_old = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/big", params=7_000_000_000), age_s=300)[0]
    small_new = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/small", params=500_000_000))[0]
    unknown = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/unknown"), age_s=900)[0]
    seen = add_model(any_engine, "o/seen", params=9_000_000_000)
    first_of_seen = add_pending_run(any_engine, suite_id, seen, age_s=1000)[0]
    end_run(any_engine, first_of_seen, None, "finished")
    rerun = add_pending_run(any_engine, suite_id, seen)[0]
    urgent = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/urgent", params=9_000_000_000),
                             priority=5)[0]

    assert queue_order(any_engine) == [urgent, rerun, small_new, big_old, unknown]
    assert _claim_all(any_engine, "w1") == [urgent, rerun, small_new, big_old, unknown]
    assert queue_order(any_engine) == []


def test_claim_order_is_configurable(any_engine, suite_id) -> None:
    old_big = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/big", params=7_000_000_000), age_s=60)[0]
    new_small = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/small", params=1_000))[0]
    assert _claim_all(any_engine, "w1", order=parse_order("submitted")) == [old_big, new_small]


@pytest.mark.parametrize("text, message", [("rerun,fastest", r"unknown worker_order key\(s\) fastest"),
                                           ("small,small", "lists a key twice")])
def test_bad_order_setting_is_explained(text: str, message: str) -> None:
    with pytest.raises(LeaseError, match=message):
        parse_order(text)


def test_concurrent_workers_never_claim_the_same_run(any_engine, suite_id) -> None:
    """Four workers, each with its own engine (own connections), race for 24 runs: each run goes to exactly one."""
    runs = {add_pending_run(any_engine, suite_id, add_model(any_engine, f"o/m{i}", params=i + 1))[0] for i in range(24)}
    url = any_engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(4)
    claims: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(owner: str) -> None:
        engine = make_engine(url)
        try:
            barrier.wait()
            claims[owner] = _claim_all(engine, owner)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [run_id for owned in claims.values() for run_id in owned]
    assert sorted(everything) == sorted(runs)  # all claimed, none twice
    for owner, owned in claims.items():
        for run_id in owned:
            row = run_row(any_engine, run_id)
            assert (row.lease_owner, row.status, row.attempts) == (owner, "running", 1)
            assert submission_state(any_engine, row.submission_id) == "running"


def test_stale_lease_is_taken_over_and_the_old_owner_is_locked_out(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    first = claim_next_run(any_engine, "dead-worker", lease_seconds=30)
    assert first is not None and not first.resumed
    assert claim_next_run(any_engine, "w2", lease_seconds=30) is None  # lease still fresh
    expire_lease(any_engine, run_id)  # the dead worker's heartbeat stops: time passes
    second = claim_next_run(any_engine, "w2", lease_seconds=30)
    assert second is not None and second.run_id == run_id and second.resumed and second.attempts == 2
    assert renew_lease(any_engine, run_id, "dead-worker", lease_seconds=30).held is False
    assert end_run(any_engine, run_id, "dead-worker", "finished") is False
    assert renew_lease(any_engine, run_id, "w2", lease_seconds=30, eta_seconds=12.34).held is True
    row = run_row(any_engine, run_id)
    assert (row.lease_owner, row.eta_seconds) == ("w2", 12.3)
    assert "claimed by dead-worker" in row.log and "taken over by w2 (lease of dead-worker went stale)" in row.log
    assert submission_state(any_engine, sub_id) == "running"


def test_end_run_mirrors_the_submission_and_keeps_reasons(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    claim_next_run(any_engine, "w1", lease_seconds=30)
    assert end_run(any_engine, run_id, "w1", "failed", error_public="the model could not be loaded",
                   error_detail="Traceback ...")
    row = run_row(any_engine, run_id)
    assert (row.status, row.error_public, row.error_detail, row.lease_owner) == (
        "failed", "the model could not be loaded", "Traceback ...", None)
    assert row.finished_at is not None
    assert submission_state(any_engine, sub_id) == "failed"
    with pytest.raises(LeaseError, match="a run ends as one of"):
        end_run(any_engine, run_id, "w1", "done")


def test_release_hands_the_run_back_without_using_an_attempt(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    claim_next_run(any_engine, "w1", lease_seconds=30)
    assert release_lease(any_engine, run_id, "w1", note="worker shutting down")
    row = run_row(any_engine, run_id)
    assert (row.status, row.lease_owner, row.attempts) == ("pending", None, 0)
    assert submission_state(any_engine, sub_id) == "pending"
    again = claim_next_run(any_engine, "w2", lease_seconds=30)
    assert again is not None and not again.resumed and again.attempts == 1
    assert release_lease(any_engine, run_id, "w1", note="late") is False  # not w1's any more


def test_cancel_pending_run_ends_it_at_once(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    assert "cancelled before it started" in request_cancel(any_engine, run_id, actor_name="olga")
    row = run_row(any_engine, run_id)
    assert (row.status, row.error_public) == ("cancelled", "cancelled by olga")
    assert submission_state(any_engine, sub_id) == "cancelled"
    with pytest.raises(LeaseError, match="already ended"):
        request_cancel(any_engine, run_id, actor_name="olga")
    with pytest.raises(LeaseError, match="run 999 does not exist"):
        request_cancel(any_engine, 999, actor_name="olga")


def test_cancel_running_run_is_seen_by_its_heartbeat(any_engine, suite_id) -> None:
    run_id, _ = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    claim_next_run(any_engine, "w1", lease_seconds=30)
    assert renew_lease(any_engine, run_id, "w1", lease_seconds=30).cancel_requested is False
    assert "cancel requested" in request_cancel(any_engine, run_id, actor_name="olga")
    assert run_row(any_engine, run_id).status == "running"  # the worker ends it
    assert renew_lease(any_engine, run_id, "w1", lease_seconds=30).cancel_requested is True


def test_cancelled_run_of_a_dead_worker_is_ended(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    claim_next_run(any_engine, "dead", lease_seconds=30)
    request_cancel(any_engine, run_id, actor_name="olga")
    assert end_cancelled_orphans(any_engine) == []  # its lease is still fresh: the worker may yet stop it
    expire_lease(any_engine, run_id)
    assert claim_next_run(any_engine, "w2", lease_seconds=30) is None  # a cancelled run is never resumed
    assert end_cancelled_orphans(any_engine) == [run_id]
    assert submission_state(any_engine, sub_id) == "cancelled"


def test_submission_cancelled_in_moderation_cancels_its_run(any_engine, suite_id) -> None:
    waiting, waiting_sub = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/a"),
                                           submission_state="cancelled")
    assert claim_next_run(any_engine, "w1", lease_seconds=30) is None
    assert run_row(any_engine, waiting).status == "cancelled"
    running, running_sub = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/b"))
    claim_next_run(any_engine, "w1", lease_seconds=30)
    with Session(any_engine) as s:
        s.execute(update(Submission).where(Submission.id == running_sub).values(state="cancelled"))
        s.commit()
    assert renew_lease(any_engine, running, "w1", lease_seconds=30).cancel_requested is True


def test_runs_that_keep_killing_workers_fail(any_engine, suite_id) -> None:
    run_id, sub_id = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    for _ in range(3):
        assert claim_next_run(any_engine, "w", lease_seconds=0.01, max_attempts=3) is not None
        time.sleep(0.05)
    assert claim_next_run(any_engine, "w", lease_seconds=30, max_attempts=3) is None
    assert fail_exhausted_runs(any_engine, max_attempts=3) == [run_id]
    row = run_row(any_engine, run_id)
    assert row.status == "failed" and "stopped unexpectedly 3 times" in row.error_public
    assert submission_state(any_engine, sub_id) == "failed"


def test_log_lines_from_two_writers_are_all_kept(any_engine, suite_id) -> None:
    run_id, _ = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/m"))
    url = any_engine.url.render_as_string(hide_password=False)

    def write(prefix: str) -> None:
        engine = make_engine(url)
        for i in range(10):
            append_log(engine, run_id, f"{prefix}-{i}")
        engine.dispose()

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    log = run_row(any_engine, run_id).log
    assert all(f"{p}-{i}\n" in log for p in "ab" for i in range(10))
    with Session(any_engine) as s:
        assert s.get(EvalRun, run_id).log.count("\n") == 20


def test_postgres_claim_skips_a_submission_an_organizer_is_changing(pg_engine) -> None:
    """The worker never waits on a submission row another transaction holds (the moderation page locks the
    submission, then its runs): it leaves the run for the next poll, so the two can never deadlock."""
    suite = add_suite(pg_engine, [choice_item(1)])
    run_id, sub_id = add_pending_run(pg_engine, suite, add_model(pg_engine, "o/m"))
    outcome: list[object] = []
    with Session(pg_engine) as moderation:
        moderation.get(Submission, sub_id, with_for_update=True)
        claimer = threading.Thread(target=lambda: outcome.append(claim_next_run(pg_engine, "w1", lease_seconds=30)))
        claimer.start()
        claimer.join(10)
        assert not claimer.is_alive(), "the claim waited on the locked submission"
    assert outcome == [None]
    claim = claim_next_run(pg_engine, "w1", lease_seconds=30)
    assert claim is not None and claim.run_id == run_id


def test_an_organizers_priority_change_reorders_waiting_runs(any_engine, suite_id) -> None:
    first = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/a"), age_s=60)[0]
    second, second_sub = add_pending_run(any_engine, suite_id, add_model(any_engine, "o/b"))
    assert queue_order(any_engine, ["submitted"]) == [first, second]
    with Session(any_engine) as s:
        s.execute(update(Submission).where(Submission.id == second_sub).values(priority=3))
        s.commit()
    assert queue_order(any_engine, ["submitted"]) == [second, first]
