"""The organizers' Runs page, run for real with Streamlit's AppTest: refused to others; shows runs, logs and
tracebacks; cancels a pending run at once and flags a running one, with an audit row; the API refuses non-organizers."""
from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluator.ops.leases import claim_next_run, end_run
from evaluator.ops.run_admin import cancel_run, list_runs
from submissions.accounts import NotAuthorized
from submissions.tables import AuditLog
from tests.pages import PAGES, add_user, open_page, shown
from tests.worker.factories import add_model, add_pending_run, add_suite, choice_item, run_row

PAGE = PAGES / "runs.py"


@pytest.fixture
def three_runs(engine: Engine) -> dict[str, int]:
    """A failed run (with a traceback), a running one (claimed by a worker) and a pending one."""
    suite = add_suite(engine, [choice_item(1)])
    failed = add_pending_run(engine, suite, add_model(engine, "org/broken"))[0]
    claim_next_run(engine, "host:1:cpu", lease_seconds=60)
    end_run(engine, failed, "host:1:cpu", "failed", error_public="cannot load model from /m: bad weights",
            error_detail="Traceback (most recent call last):\n  ModelLoadError: bad weights")
    running = add_pending_run(engine, suite, add_model(engine, "org/running"))[0]
    claim_next_run(engine, "host:2:cuda", lease_seconds=60)
    pending = add_pending_run(engine, suite, add_model(engine, "org/waiting"))[0]
    return {"failed": failed, "running": running, "pending": pending}


@pytest.mark.parametrize("organizer", [None, False])
def test_non_organizers_are_refused(engine: Engine, organizer: bool | None) -> None:
    at = open_page(PAGE, None if organizer is None else add_user(engine, "visitor", organizer))
    assert "for organizers" in shown(at.error[0].value)
    assert not at.button and not at.dataframe


def test_empty_queue_says_so(engine: Engine) -> None:
    at = open_page(PAGE, add_user(engine, "olga", True))
    assert "No runs yet" in shown(at.info[0].value)


def test_runs_table_log_and_traceback(engine: Engine, three_runs: dict[str, int]) -> None:
    at = open_page(PAGE, add_user(engine, "olga", True))
    table = at.dataframe[0].value
    assert list(table["run"]) == [three_runs["pending"], three_runs["running"], three_runs["failed"]]
    assert list(table["status"]) == ["pending", "running", "failed"]
    assert table.set_index("run").loc[three_runs["running"], "worker"] == "host:2:cuda"
    assert table.set_index("run").loc[three_runs["failed"], "finished"].endswith(" UTC")  # times name their zone

    at.selectbox(key="runs_choice").select(three_runs["failed"]).run()
    assert "cannot load model from /m: bad weights" in shown(at.error[0].value)
    codes = [c.value for c in at.code]
    assert any("claimed by host:1:cpu" in c for c in codes)  # the log
    assert any("ModelLoadError: bad weights" in c for c in codes)  # the traceback
    assert not [b for b in at.button if b.key == "cancel_run"]  # an ended run cannot be cancelled
    headings = " ".join(m.value for m in at.markdown)  # the run's two specs, apart
    assert "Run spec: what determines the numbers" in headings and "Execution spec: how it ran" in headings

    at.multiselect(key="runs_status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["run"]) == [three_runs["failed"]]


def test_cancel_pending_and_running_runs(engine: Engine, three_runs: dict[str, int]) -> None:
    olga = add_user(engine, "olga", True)
    at = open_page(PAGE, olga)
    at.selectbox(key="runs_choice").select(three_runs["pending"]).run()
    at.button(key="cancel_run").click().run()
    assert "cancelled before it started" in shown(at.success[0].value)
    assert run_row(engine, three_runs["pending"]).status == "cancelled"

    at.selectbox(key="runs_choice").select(three_runs["running"]).run()
    at.button(key="cancel_run").click().run()
    assert "cancel requested" in shown(at.success[0].value)
    row = run_row(engine, three_runs["running"])
    assert (row.status, row.cancel_requested) == ("running", True)  # its worker ends it
    assert "Cancel requested" in shown(at.warning[0].value)
    assert at.button(key="cancel_run").disabled  # asked once: the button does not invite a second click
    runs_table = at.dataframe[0].value.set_index("run")
    assert runs_table.loc[three_runs["running"], "status"] == "cancelling"
    assert "None" not in runs_table.astype(str).to_numpy().tolist().__str__()  # unset times and beats are blank
    with Session(engine) as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "cancel_run").order_by(AuditLog.id)).all()
    assert [(a.actor_name, a.target_id, a.after["status"]) for a in audit] == [
        ("olga", three_runs["pending"], "cancelled"), ("olga", three_runs["running"], "running")]


def test_cancel_api_refuses_non_organizers_and_changes_nothing(engine: Engine, three_runs: dict[str, int]) -> None:
    visitor = add_user(engine, "vic", False)
    with pytest.raises(NotAuthorized):
        cancel_run(visitor, three_runs["pending"], engine=engine)
    assert run_row(engine, three_runs["pending"]).status == "pending"
    assert [r.status for r in list_runs(["pending"], engine=engine)] == ["pending"]


def test_progress_count_is_said_once(engine: Engine, three_runs: dict[str, int]) -> None:
    """The Progress metric gives the count; the bar gives the share, not the same '830/830' again."""
    from evaluator.tables import EvalRun

    with Session(engine) as session:
        run = session.get(EvalRun, three_runs["failed"])
        run.progress_done = run.progress_total = 830
        session.add(run)
        session.commit()
    at = open_page(PAGE, add_user(engine, "olga", True))
    at.selectbox(key="runs_choice").select(three_runs["failed"]).run()
    assert {m.label: m.value for m in at.metric}["Progress"] == "830/830"
    assert at.get("progress")[0].proto.text == "100% done"
