"""Submitting: form validation, hub verdicts, duplicates, the rate limit, and 50 concurrent requests."""
from __future__ import annotations

from collections import Counter
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, func, select

from common.db import get_engine
from common.settings import get_settings
from common.timeutil import utcnow
from submissions.accounts import create_user
from submissions.checks import check_validity
from submissions.forms import parse_form
from submissions.intake import record_submission, submit_model, submissions_left
from submissions.tables import ModelEntry, Submission, SubmissionEvent
from tests.hub_stub import HubStub

FORM = {"revision": "main", "precision": "bfloat16", "model_type": "chat", "use_chat_template": True,
        "contact": "dr.li@example.org"}


def count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_accepted_submission_is_pinned_approved_and_recorded(any_engine, hub: HubStub, shapes) -> None:
    user = create_user("alice", "correct horse")
    out = submit_model(user.id, hub_id=shapes["good"], **FORM)
    assert out.status == "accepted", out.message
    sha = hub.repos[shapes["good"]].branches["main"].sha
    assert sha in out.message and f"#{out.submission_id}" in out.message and "Queue page" in out.message
    with Session(any_engine) as s:
        sub = s.get(Submission, out.submission_id)
        entry = s.get(ModelEntry, sub.model_id)
        events = s.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id)
                        .order_by(SubmissionEvent.id)).all()
    assert sub.state == "approved" and sub.submitter_id == user.id and sub.contact == "dr.li@example.org"
    assert (entry.commit_sha, entry.revision, entry.license, entry.precision) == (sha, "main", "apache-2.0", "bfloat16")
    assert entry.params and entry.params > 0 and entry.card_data["license"] == "apache-2.0"
    assert entry.card_data["facts"]["organisation"] == "org"  # the model facts are stored on the entry at intake
    assert [(e.from_state, e.to_state, e.actor_name) for e in events] == [
        (None, "submitted", "alice"), ("submitted", "approved", "system")]


def test_remote_code_model_is_held_for_review(engine, shapes) -> None:
    user = create_user("bob", "correct horse")
    out = submit_model(user.id, hub_id=shapes["remote_code"], **FORM)
    assert out.status == "held" and "organizer" in out.message
    with Session(engine) as s:
        sub = s.get(Submission, out.submission_id)
        assert sub.state == "submitted"
        entry = s.get(ModelEntry, sub.model_id)
        assert entry.needs_remote_code and not entry.allow_remote_code


@pytest.mark.parametrize(("values", "words"), [
    ({"hub_id": "no-namespace"}, "Model id: give the full model id as 'organization/model-name'"),
    ({"hub_id": "org/bad name"}, "Model id:"),
    ({"precision": "int3"}, "Precision:"),
    ({"model_type": "robot"}, "Model type:"),
    ({"revision": "../../etc"}, "Revision:"),
    ({"contact": ""}, "Contact: required: give an e-mail address or a Hugging Face user name"),
    ({"hub_id": ""}, "Model id: required: give the full model id as 'organization/model-name'"),
    ({"hub_id": "ab"}, "Model id: too short: give the full model id"),
    ({"contact": "a@b"}, "Contact: not a valid e-mail address"),
])
def test_bad_form_input_is_refused_and_changes_nothing(engine, hub: HubStub, shapes, values, words) -> None:
    user = create_user("carol", "correct horse")
    before = len(hub.requests)
    out = submit_model(user.id, **{**FORM, "hub_id": shapes["good"], **values})
    assert out.status == "refused" and out.reason == "form"
    assert words in out.message
    assert count(engine, Submission) == 0 and count(engine, ModelEntry) == 0
    assert len(hub.requests) == before  # the hub is not even asked


def test_anonymous_and_failed_checks_change_nothing(engine, shapes) -> None:
    out = submit_model(None, hub_id=shapes["good"], **FORM)
    assert out.status == "refused" and out.reason == "auth" and "Sign in" in out.message
    user = create_user("dave", "correct horse")
    for shape in ("gated", "pickle_only", "oversize", "no_card", "no_license", "no_chat_template"):
        out = submit_model(user.id, hub_id=shapes[shape], **FORM)
        assert out.status == "refused" and out.reason == "hub" and out.check is not None
        assert out.message == out.check.message
    assert count(engine, Submission) == 0 and count(engine, ModelEntry) == 0


def test_duplicate_in_any_state_is_refused_naming_the_entry(engine, shapes) -> None:
    alice, bob = create_user("alice", "correct horse"), create_user("bobby", "correct horse")
    first = submit_model(alice.id, hub_id=shapes["good"], **FORM)
    with Session(engine) as s:  # even after it ended (e.g. rejected), the same model/SHA/precision is refused
        sub = s.get(Submission, first.submission_id)
        sub.state = "rejected"
        s.add(sub)
        s.commit()
    again = submit_model(bob.id, hub_id=shapes["good"], **FORM)
    assert again.status == "refused" and again.reason == "duplicate"
    assert f"submission #{first.submission_id} (state: rejected)" in again.message
    shouting = submit_model(bob.id, hub_id=shapes["good"].upper(), **FORM)  # hub ids are case-insensitive
    assert shouting.reason == "duplicate" and f"submission #{first.submission_id} " in shouting.message
    other_precision = submit_model(bob.id, hub_id=shapes["good"], **{**FORM, "precision": "float16"})
    assert other_precision.status == "accepted"


def test_rate_limit_is_configurable_and_counts_the_window(engine, shapes, monkeypatch) -> None:
    monkeypatch.setenv("MEDBENCH_RATE_LIMIT_COUNT", "2")
    get_settings.cache_clear()
    user = create_user("erin", "correct horse")
    assert submissions_left(user.id) == 2
    outs = [submit_model(user.id, hub_id=shapes["good"], **{**FORM, "precision": p})
            for p in ("bfloat16", "float16", "float32")]
    assert [o.status for o in outs] == ["accepted", "accepted", "refused"]
    assert outs[2].reason == "rate_limit" and "the limit is 2" in outs[2].message
    assert submissions_left(user.id) == 0
    monkeypatch.setenv("MEDBENCH_RATE_LIMIT_DAYS", "1")
    get_settings.cache_clear()
    with Session(engine) as session:  # the two made two days ago fall out of a one-day window
        session.execute(update(Submission).where(Submission.submitter_id == user.id)
                        .values(created_at=utcnow() - timedelta(days=2)))
        session.commit()
    assert submissions_left(user.id) == 2
    assert submit_model(user.id, hub_id=shapes["good"], **{**FORM, "precision": "float32"}).status == "accepted"


def test_fifty_concurrent_submissions_by_five_users(any_engine, hub: HubStub, tiny_models: dict[str, Path]) -> None:
    """5 users x 10 requests, checked on the hub, then released together by a barrier into the decision.

    Each user asks for 7 models nobody else wants and for the same 3 shared models. Whatever the order, every
    user must end with exactly 5 submissions (the limit), no (model, SHA, precision) twice, and every refusal is a
    duplicate naming an existing submission or a rate-limit message; no request errors.
    """
    folder = tiny_models["random"]
    for name in [f"u{u}-m{m}" for u in range(5) for m in range(7)] + ["shared-0", "shared-1", "shared-2"]:
        hub.add_repo(f"org/{name}", folder)
    users = [create_user(f"user{u}", "correct horse").id for u in range(5)]
    requests = []
    for u, uid in enumerate(users):
        requests += [(uid, f"org/u{u}-m{m}") for m in range(7)] + [(uid, f"org/shared-{k}") for k in range(3)]
    assert len(requests) == 50
    barrier = threading.Barrier(len(requests))
    engine = get_engine()

    def fire(req):  # type: ignore[no-untyped-def]
        form = parse_form(hub_id=req[1], **FORM)
        check = check_validity(form.hub_id, form.revision, use_chat_template=True)
        barrier.wait(timeout=60)
        return record_submission(req[0], form, check, engine=engine)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        outcomes = list(pool.map(fire, requests))
    reasons = Counter(o.reason or o.status for o in outcomes)
    assert set(reasons) <= {"accepted", "duplicate", "rate_limit"}, reasons
    assert reasons["accepted"] == 25 and reasons["rate_limit"] >= 10, reasons
    with Session(any_engine) as s:
        rows = s.exec(select(Submission, ModelEntry).join(ModelEntry, ModelEntry.id == Submission.model_id)).all()
    keys = [(m.hub_id, m.commit_sha, m.precision) for _, m in rows]
    assert len(keys) == len(set(keys)) == 25
    assert Counter(s.submitter_id for s, _ in rows) == {uid: 5 for uid in users}
    ids = {s.id for s, _ in rows}
    for o in outcomes:
        if o.reason == "duplicate":
            assert any(f"submission #{i} " in o.message for i in ids), o.message
        if o.reason == "rate_limit":
            assert "the limit is 5" in o.message
