"""Organizer actions: each refused to non-organizers, all-or-nothing in bulk, every change in the audit log."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evaluator.tables import EvalRun
from submissions.accounts import AccountError, NotAuthorized, create_user, set_organizer
from submissions.audit import AuditFilter, export_csv, export_jsonl, list_entries
from submissions.moderation import ACTIONS, ModerationError, moderate
from submissions.tables import AuditLog, ModelEntry, Submission, SubmissionEvent, User
from tests.submissions.factories import add_run, add_submission


@pytest.fixture
def people(any_engine):  # type: ignore[no-untyped-def]
    org = create_user("olga", "organizer pass 42", organizer=True)
    user = create_user("ulla", "user pass phrase")
    return org, user


def state(engine, sub_id: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.get(Submission, sub_id).state


def audit_rows(engine) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    """The audit log after the fixture's own row (olga made organizer at account creation)."""
    with Session(engine) as s:
        rows = list(s.exec(select(AuditLog).order_by(AuditLog.id)))
    assert rows and (rows[0].actor_name, rows[0].action, rows[0].after["by"]) == ("CLI", "grant_organizer",
                                                                                  "create-user")
    return rows[1:]


def test_every_action_is_refused_to_non_organizers_and_anonymous(any_engine, people) -> None:
    org, user = people
    sub = add_submission(any_engine, user.id)
    for action in ACTIONS:
        for actor in (user.id, None, 999_999):
            with pytest.raises(NotAuthorized, match="Only organizers"):
                moderate(actor, action, [sub], reason="because")
    assert state(any_engine, sub) == "submitted" and audit_rows(any_engine) == []


def test_approve_and_reject_are_audited_with_before_and_after(any_engine, people) -> None:
    org, user = people
    a, b = add_submission(any_engine, user.id), add_submission(any_engine, user.id)
    assert moderate(org.id, "approve", [a]) == [f"#{a}: submitted -> approved"]
    moderate(org.id, "reject", [b], reason="Not a medical model <script>alert(1)</script>")
    assert (state(any_engine, a), state(any_engine, b)) == ("approved", "rejected")
    rows = audit_rows(any_engine)
    assert [(r.actor_name, r.action, r.target_id, r.before["state"], r.after["state"]) for r in rows] == [
        ("olga", "approve", a, "submitted", "approved"), ("olga", "reject", b, "submitted", "rejected")]
    assert rows[1].after["reason"] == "Not a medical model <script>alert(1)</script>"
    with Session(any_engine) as s:
        event = s.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == b)
                       .order_by(SubmissionEvent.id.desc())).first()
    assert (event.actor_name, event.actor_id, event.to_state) == ("olga", org.id, "rejected")
    assert event.reason.startswith("Not a medical model")


def test_reject_and_flag_need_a_reason(any_engine, people) -> None:
    org, user = people
    sub = add_submission(any_engine, user.id)
    for action in ("reject", "flag"):
        with pytest.raises(ModerationError, match="needs a reason"):
            moderate(org.id, action, [sub], reason="   ")
    assert state(any_engine, sub) == "submitted" and audit_rows(any_engine) == []


def test_bulk_is_all_or_nothing_and_names_each_refused_target(any_engine, people) -> None:
    org, user = people
    ok1, ok2 = add_submission(any_engine, user.id), add_submission(any_engine, user.id)
    done = add_submission(any_engine, user.id, state="finished")
    with pytest.raises(ModerationError) as err:
        moderate(org.id, "approve", [ok1, done, ok2, 424242])
    assert len(err.value.problems) == 2 and err.value.problems[1] == "#424242: no such submission"
    assert err.value.problems[0].startswith(f"#{done} (org/model-")
    assert err.value.problems[0].endswith("is finished; only submitted ones can be approved")
    assert [state(any_engine, i) for i in (ok1, ok2)] == ["submitted", "submitted"] and audit_rows(any_engine) == []
    assert len(moderate(org.id, "approve", [ok1, ok2])) == 2
    assert len(audit_rows(any_engine)) == 2


def test_remote_code_needs_explicit_allowance_for_the_pinned_sha(any_engine, people) -> None:
    org, user = people
    sub = add_submission(any_engine, user.id, needs_remote_code=True)
    with pytest.raises(ModerationError, match="needs remote code"):
        moderate(org.id, "approve", [sub])
    lines = moderate(org.id, "allow_remote_code", [sub])
    assert "allow_remote_code" in lines[0] and "submitted -> approved" in lines[0]
    with Session(any_engine) as s:
        model = s.get(ModelEntry, s.get(Submission, sub).model_id)
    assert model.allow_remote_code and state(any_engine, sub) == "approved"
    assert [r.action for r in audit_rows(any_engine)] == ["allow_remote_code", "approve"]
    other = add_submission(any_engine, user.id)
    with pytest.raises(ModerationError, match="does not need remote code"):
        moderate(org.id, "allow_remote_code", [other])


def test_cancel_marks_the_running_evaluation_and_rerun_requeues(any_engine, people) -> None:
    org, user = people
    sub = add_submission(any_engine, user.id, state="running")
    run = add_run(any_engine, sub, status="running", done=3, total=10)
    moderate(org.id, "cancel", [sub], reason="wrong precision")
    with Session(any_engine) as s:
        cancelled = s.get(EvalRun, run)
        assert cancelled.cancel_requested is True
        assert f"cancel requested by {org.username}" in cancelled.log  # through evaluator.ops.leases.flag_cancel
    assert state(any_engine, sub) == "cancelled"
    with pytest.raises(ModerationError, match="already ended"):
        moderate(org.id, "cancel", [sub])
    moderate(org.id, "rerun", [sub])
    assert state(any_engine, sub) == "approved"
    assert [r.action for r in audit_rows(any_engine)] == ["cancel", "cancel_run", "rerun"]
    with pytest.raises(ModerationError, match="only finished, failed or cancelled"):
        moderate(org.id, "rerun", [sub])


def test_flag_hide_and_their_reversal(any_engine, people) -> None:
    org, user = people
    sub = add_submission(any_engine, user.id, state="finished")
    moderate(org.id, "flag", [sub], reason="Trained on the test set")
    moderate(org.id, "hide", [sub])
    with Session(any_engine) as s:
        model = s.get(ModelEntry, s.get(Submission, sub).model_id)
    assert (model.flag_reason, model.hidden) == ("Trained on the test set", True)
    with pytest.raises(ModerationError, match="already hidden"):
        moderate(org.id, "hide", [sub])
    moderate(org.id, "unflag", [sub])
    moderate(org.id, "unhide", [sub])
    rows = audit_rows(any_engine)
    assert [(r.action, r.target_type, r.before, r.after) for r in rows] == [
        ("flag", "model", {"flag_reason": None}, {"flag_reason": "Trained on the test set"}),
        ("hide", "model", {"hidden": False}, {"hidden": True}),
        ("unflag", "model", {"flag_reason": "Trained on the test set"}, {"flag_reason": None}),
        ("unhide", "model", {"hidden": True}, {"hidden": False})]


def test_organizers_decide_whether_a_model_reasons(any_engine, people) -> None:
    """The reasoning override (issue 15): audited, refused when it changes nothing, and what new runs follow."""
    from evaluator.engine.spec import build_specs
    from evaluator.tables import Suite

    org, user = people
    sub = add_submission(any_engine, user.id)
    moderate(org.id, "reasoning_on", [sub])
    with pytest.raises(ModerationError, match="already marked as a reasoning model"):
        moderate(org.id, "reasoning_on", [sub])
    with Session(any_engine) as s:
        model = s.get(ModelEntry, s.get(Submission, sub).model_id)
    assert model.reasoning is True
    spec, _ = build_specs(model, Suite(name="s", version="v"), set())
    assert (spec.reasoning.thinks, spec.reasoning.source) == (True, "organizer")
    moderate(org.id, "reasoning_auto", [sub])
    assert [(r.action, r.before, r.after) for r in audit_rows(any_engine)] == [
        ("set_reasoning", {"reasoning": None}, {"reasoning": True}),
        ("set_reasoning", {"reasoning": True}, {"reasoning": None})]


def test_unknown_action_and_empty_selection(any_engine, people) -> None:
    org, _ = people
    with pytest.raises(ModerationError, match="Unknown action 'delete'"):
        moderate(org.id, "delete", [1])
    with pytest.raises(ModerationError, match="Select at least one"):
        moderate(org.id, "approve", [])


def test_organizer_role_granted_by_organizer_or_cli_and_audited(any_engine, people) -> None:
    org, user = people
    with pytest.raises(NotAuthorized):
        set_organizer(user.id, "ulla", True)
    set_organizer(org.id, "ulla", True)
    with pytest.raises(AccountError, match="own organizer role"):
        set_organizer(org.id, "olga", False)
    set_organizer(None, "olga", False)  # the CLI
    with Session(any_engine) as s:
        assert {u.username: u.is_organizer for u in s.exec(select(User))} == {"olga": False, "ulla": True}
    rows = audit_rows(any_engine)
    assert [(r.actor_name, r.action, r.after["by"]) for r in rows] == [
        ("olga", "grant_organizer", "olga"), ("CLI", "revoke_organizer", "cli")]
    with pytest.raises(NotAuthorized):  # a revoked organizer loses the role at once
        moderate(org.id, "approve", [add_submission(any_engine, user.id)])


def test_audit_filters_and_exports(any_engine, people) -> None:
    org, user = people
    a, b = add_submission(any_engine, user.id), add_submission(any_engine, user.id)
    moderate(org.id, "approve", [a])
    moderate(org.id, "reject", [b], reason='quote " and comma, and 中文')
    assert [e.action for e in list_entries()] == ["reject", "approve", "grant_organizer"]  # newest first
    assert [e.target_id for e in list_entries(AuditFilter(action="approve"))] == [a]
    assert list_entries(AuditFilter(actor="nobody")) == []
    import csv
    import io
    import json

    rows = list(csv.DictReader(io.StringIO(export_csv(list_entries(AuditFilter(target_type="submission"))))))
    assert [r["action"] for r in rows] == ["reject", "approve"]
    assert json.loads(rows[0]["after"])["reason"] == 'quote " and comma, and 中文'
    lines = [json.loads(line) for line in export_jsonl(list_entries(AuditFilter(target_type="submission"))).splitlines()]
    assert lines[0]["after"]["reason"] == 'quote " and comma, and 中文' and lines[1]["before"]["state"] == "submitted"


@pytest.mark.parametrize("name", ["张医生", "dr-li", "李.医生_2"])
def test_latin_and_chinese_user_names_are_accepted(engine, name: str) -> None:
    assert create_user(name, "long enough pass").username == name


@pytest.mark.parametrize("name", ["张", "ab", "-dr", "dr li", "dr<script>", "ｄｒ-ｌｉ"])
def test_other_user_names_are_refused_with_the_rule(engine, name: str) -> None:
    with pytest.raises(AccountError, match="Chinese characters"):
        create_user(name, "long enough pass")
