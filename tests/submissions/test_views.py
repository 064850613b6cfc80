"""The read API behind the Queue, Submit and Moderation pages."""
from __future__ import annotations

from sqlmodel import Session

from evaluator.ops.leases import request_cancel
from evaluator.tables import EvalRun
from submissions.accounts import create_user
from submissions.moderation import moderate
from submissions.tables import ModelEntry, Submission
from common.display import compact_count
from submissions.views import all_submissions, format_eta, history, queue_overview, submissions_of
from tests.submissions.factories import add_run, add_submission


def test_queue_overview_groups_states_with_progress_eta_and_failure_reason(engine) -> None:
    user = create_user("ulla", "user pass phrase")
    waiting = add_submission(engine, user.id, state="approved")
    running = add_submission(engine, user.id, state="running")
    add_run(engine, running, status="running", done=40, total=160, eta=600.0)
    failed = add_submission(engine, user.id, state="failed")
    add_run(engine, failed, status="failed", error="first try")
    add_run(engine, failed, status="failed", error="Model load failed: out of memory")
    finished = add_submission(engine, user.id, state="finished")
    hidden = add_submission(engine, user.id, state="approved")
    with Session(engine) as s:
        model = s.get(ModelEntry, s.get(Submission, hidden).model_id)
        model.hidden = True
        s.add(model)
        s.commit()
    overview = queue_overview()
    assert [r.submission_id for r in overview.waiting] == [waiting]
    assert [(r.submission_id, r.progress, r.eta_seconds) for r in overview.running] == [(running, 0.25, 600.0)]
    assert [(r.submission_id, r.error_public) for r in overview.failed] == [(failed, "Model load failed: out of memory")]
    assert [r.submission_id for r in overview.finished] == [finished]


def test_own_submissions_all_submissions_and_history(engine) -> None:
    a, b = create_user("anna", "amber falcon 77"), create_user("bert", "quiet meadow 19")
    mine = [add_submission(engine, a.id), add_submission(engine, a.id, state="rejected", reason="no")]
    theirs = add_submission(engine, b.id, hub_id="org/special-med")
    assert [r.submission_id for r in submissions_of(a.id)] == mine[::-1]
    assert {r.submitter for r in all_submissions()} == {"anna", "bert"}
    assert [r.submission_id for r in all_submissions(states=["rejected"])] == [mine[1]]
    assert [r.submission_id for r in all_submissions(search="special")] == [theirs]
    assert [(e.to_state, e.actor_name) for e in history(theirs)] == [("submitted", "test")]


def test_format_eta() -> None:
    assert [format_eta(x) for x in (None, 10, 600, 3900)] == ["", "< 1 min", "10 min", "1 h 05 min"]


def test_format_params() -> None:
    counts = (None, 999, 20_480, 205_120, 1_500_000, 7_000_000_000, 7_241_732_096)
    assert [compact_count(n) for n in counts] == ["", "999", "20.5K", "205K", "1.5M", "7B", "7.2B"]


def test_running_rows_carry_the_demo_mark_and_per_task_progress(engine) -> None:
    running = add_submission(engine, None, state="running")
    run_id = add_run(engine, running, done=25, total=30)
    with Session(engine) as s:
        run = s.get(EvalRun, run_id)
        run.progress_detail = {"Med-Exam": [20, 20], "MedHC": [5, 10], "broken": "x"}
        model = s.get(ModelEntry, s.get(Submission, running).model_id)
        model.is_demo = True
        s.add_all([run, model])
        s.commit()
    row = queue_overview().running[0]
    assert row.is_demo and row.task_progress == {"Med-Exam": (20, 20), "MedHC": (5, 10)} and row.tasks_done == 1


def test_a_cancelled_run_shows_as_cancelling_until_its_worker_stops_then_as_cancelled(any_engine) -> None:
    org = create_user("olga", "organizer pass 42", organizer=True)
    by_moderation = add_submission(any_engine, None, state="running")
    moderated_run = add_run(any_engine, by_moderation, done=3, total=10)
    by_runs_page = add_submission(any_engine, None, state="running")
    flagged_run = add_run(any_engine, by_runs_page, done=1, total=10)
    moderate(org.id, "cancel", [by_moderation], reason="wrong revision")
    request_cancel(any_engine, flagged_run, actor_name="olga")  # the Runs page: the run is flagged, not the submission

    overview = queue_overview()
    assert [(r.submission_id, r.state, r.cancelling) for r in overview.running] == [
        (by_moderation, "cancelled", True), (by_runs_page, "running", True)]
    assert overview.cancelled == []

    with Session(any_engine) as s:  # the worker stops the moderated run after its chunk
        s.get(EvalRun, moderated_run).status = "cancelled"
        s.commit()
    overview = queue_overview()
    assert [r.submission_id for r in overview.running] == [by_runs_page]
    assert [(r.submission_id, r.reason, r.cancelling) for r in overview.cancelled] == [
        (by_moderation, "wrong revision", False)]


def test_search_matches_percent_and_underscore_literally(any_engine) -> None:
    user = create_user("sara", "quiet orchard lantern 42")
    under = add_submission(any_engine, user.id, hub_id="org/med_7b")
    other = add_submission(any_engine, user.id, hub_id="org/med-7b")
    percent = add_submission(any_engine, user.id, hub_id="org/100%-med")
    assert [r.submission_id for r in all_submissions(search="med_7b")] == [under]
    assert [r.submission_id for r in all_submissions(search="%")] == [percent]
    assert [r.submission_id for r in all_submissions(search="_")] == [under]
    assert {r.submission_id for r in all_submissions(search="med")} == {under, other, percent}
