"""Account rules on real SQLite and PostgreSQL: who becomes organizer, sign-in throttling, password strength,
case-insensitive names, changing / signing out / deleting an account, and duplicate names of an older database."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from common.db import make_engine, reset_engines
from common.settings import get_settings
from common.timeutil import utcnow
from evaluator.tables import EvalRun, ItemResult, SuiteItem, TagReview
from submissions import throttle
from submissions.account_changes import (DELETED_USER, change_password, delete_account, duplicate_names,
                                         rename_duplicates, reset_password, sign_out_everywhere)
from submissions.accounts import AccountError, authenticate, create_user, set_organizer, user_from_oidc
from submissions.remember import issue_token, user_for_token
from submissions.tables import AuditLog, SignInFailure, SignInToken, Submission, SubmissionEvent, User
from tests.submissions.factories import add_run, add_submission

APP = str(Path(__file__).resolve().parents[2] / "app.py")
GOOD = "amber falcon 77"
OTHER = "quiet meadow 19"


def roles(engine) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return {u.username: u.is_organizer for u in s.exec(select(User))}


def audit_actions(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [(a.actor_name, a.action) for a in s.exec(select(AuditLog).order_by(AuditLog.id))]


# 1. the organizer role ------------------------------------------------------------------------------------------

def test_a_configured_name_never_makes_a_self_registered_account_organizer(any_engine, monkeypatch) -> None:
    """The old MEDBENCH_ORGANIZERS granted the role to whoever signed up first under a listed name."""
    create_user("alice", GOOD)  # signed up before the app (re)starts with the setting
    monkeypatch.setenv("MEDBENCH_ORGANIZERS", "alice,bob,carol")
    get_settings.cache_clear()
    reset_engines()
    assert not AppTest.from_file(APP, default_timeout=60).run().exception  # the app's start-up
    create_user("bob", OTHER)  # signs up after
    assert authenticate("bob", OTHER) is not None and authenticate("alice", GOOD) is not None
    user_from_oidc({"sub": "7", "iss": "https://hub.example", "preferred_username": "carol"})
    assert roles(any_engine) == {"alice": False, "bob": False, "carol": False}
    assert audit_actions(any_engine) == []
    set_organizer(None, "bob", True)  # the operator's CLI is the way
    assert roles(any_engine)["bob"] is True


# 4. throttling ---------------------------------------------------------------------------------------------------

def fail(name: str, times: int, client: str | None = None) -> None:
    for _ in range(times):
        assert authenticate(name, "wrong guess 123", client=client) is None


def test_failed_sign_ins_throttle_the_account_in_any_spelling_and_across_processes(any_engine) -> None:
    create_user("dr-li", GOOD)
    create_user("dr-wu", OTHER)
    fail("dr-li", throttle.ACCOUNT_LIMIT - 1)
    assert authenticate("dr-li", GOOD) is not None  # a success clears the count
    fail("DR-LI", throttle.ACCOUNT_LIMIT)
    reset_engines()  # a new engine, as another app process or a restart would have
    for name, password in (("dr-li", GOOD), ("Dr-Li", "wrong guess 123"), ("dr-li", "wrong again 456")):
        with pytest.raises(AccountError, match=r"^Too many failed sign-ins for this account; try again in 15 "
                                               r"minutes\.$"):
            authenticate(name, password)
    with Session(any_engine) as s:  # refused attempts are not counted: the wait does not grow
        assert len(s.exec(select(SignInFailure)).all()) == throttle.ACCOUNT_LIMIT
    assert authenticate("dr-wu", OTHER) is not None  # other accounts are unaffected
    with Session(any_engine) as s:  # the window passes
        s.exec(update(SignInFailure).values(at=utcnow() - throttle.WINDOW - timedelta(seconds=1)))
        s.commit()
    assert authenticate("dr-li", GOOD) is not None


def test_unknown_names_are_throttled_like_real_ones(any_engine) -> None:
    fail("nobody-here", throttle.ACCOUNT_LIMIT)
    with pytest.raises(AccountError, match="Too many failed sign-ins for this account"):
        authenticate("nobody-here", "whatever it is")


def test_failed_sign_ins_throttle_the_client_across_accounts(any_engine) -> None:
    create_user("dr-li", GOOD)
    per_name = throttle.ACCOUNT_LIMIT - 1  # never enough to throttle one account
    for n in range(-(-throttle.CLIENT_LIMIT // per_name)):
        fail(f"guess-{n}", per_name, client="203.0.113.9")
    with pytest.raises(AccountError, match=r"^Too many failed sign-ins for your network address; try again in "):
        authenticate("dr-li", GOOD, client="203.0.113.9")
    assert authenticate("dr-li", GOOD, client="198.51.100.4") is not None
    with Session(any_engine) as s:  # only digests are stored, no address
        assert all("203.0.113.9" not in f.key for f in s.exec(select(SignInFailure)))


# 4. password strength and names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("12345678", "too easy to guess"), ("password", "too easy to guess"), (" " * 8, "too easy to guess"),
    ("short", "at least 8 characters"), ("dr-li2024", "must not contain your user name"),
    ("My DR-LI secret place", "must not contain your user name"), ("x" * 257, "at most 256 characters")])
def test_weak_passwords_are_refused_with_the_reason(any_engine, password: str, reason: str) -> None:
    with pytest.raises(AccountError, match=reason):
        create_user("dr-li", password)
    assert roles(any_engine) == {}


def test_user_names_are_unique_and_found_regardless_of_case(any_engine) -> None:
    create_user("Alice", GOOD)
    with pytest.raises(AccountError, match="The user name 'alice' is taken"):
        create_user("alice", OTHER)
    assert authenticate("ALICE", GOOD).username == "Alice"
    assert set_organizer(None, "alice", True).username == "Alice"
    with Session(any_engine) as s:  # the database itself holds the rule, so two racing sign-ups cannot both win
        s.add(User(username="aLiCe"))
        with pytest.raises(IntegrityError):
            s.commit()
    oidc = user_from_oidc({"sub": "1", "iss": "https://hub.example", "preferred_username": "ALICE"})
    assert oidc.username == "ALICE-2"
    assert sorted(roles(any_engine)) == ["ALICE-2", "Alice"]


# 4. changing, signing out everywhere, deleting, resetting -------------------------------------------------------

def test_change_password_needs_the_current_one_and_ends_remembered_sign_ins(any_engine) -> None:
    user = create_user("dr-li", GOOD)
    tokens = [issue_token(user), issue_token(user)]
    with pytest.raises(AccountError, match="Current password: wrong"):
        change_password(user.id, "not my password", OTHER)
    with Session(any_engine) as s:  # counted by the throttle like a failed sign-in
        assert len(s.exec(select(SignInFailure)).all()) == 1
    with pytest.raises(AccountError, match="too easy to guess"):
        change_password(user.id, GOOD, "password")
    assert all(user_for_token(t) is not None for t in tokens)  # refusals change nothing
    change_password(user.id, GOOD, OTHER)
    assert authenticate("dr-li", GOOD) is None and authenticate("dr-li", OTHER) is not None
    assert all(user_for_token(t) is None for t in tokens)
    with Session(any_engine) as s:
        assert s.exec(select(SignInToken)).all() == []


def test_sign_out_everywhere_ends_every_remembered_sign_in(any_engine) -> None:
    user = create_user("dr-li", GOOD)
    other = create_user("dr-wu", OTHER)
    tokens = [issue_token(user), issue_token(user)]
    kept = issue_token(other)
    assert sign_out_everywhere(user.id) == 2
    assert [user_for_token(t) for t in tokens] == [None, None]
    assert user_for_token(kept).username == "dr-wu"


def _tag_review(engine, run_id: int, reviewer_id: int) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        run = s.get(EvalRun, run_id)
        item = SuiteItem(suite_id=run.suite_id, task="Med-Exam", item_key="k1")
        s.add(item)
        s.flush()
        result = ItemResult(run_id=run_id, item_id=item.id, task="Med-Exam", dimension="knowledge")
        s.add(result)
        s.flush()
        review = TagReview(item_result_id=result.id, run_id=run_id, reviewer_id=reviewer_id)
        s.add(review)
        s.commit()
        return review.id


def test_delete_account_keeps_submissions_without_the_person(any_engine) -> None:
    user = create_user("dr-li", GOOD, email="li@example.org")
    sub = add_submission(any_engine, user.id)
    with Session(any_engine) as s:
        s.add(SubmissionEvent(submission_id=sub, to_state="submitted", actor_id=user.id, actor_name="dr-li"))
        s.commit()
    set_organizer(None, "dr-li", True)
    review = _tag_review(any_engine, add_run(any_engine, sub), user.id)  # reviewed tags while an organizer
    token = issue_token(user)
    with pytest.raises(AccountError, match="Organizers cannot delete their account"):
        delete_account(user.id, GOOD)
    set_organizer(None, "dr-li", False)
    with pytest.raises(AccountError, match="Current password: wrong"):
        delete_account(user.id, "not my password")
    assert roles(any_engine) == {"dr-li": False} and user_for_token(token) is not None
    delete_account(user.id, GOOD)
    with Session(any_engine) as s:
        assert s.exec(select(User)).all() == [] and s.exec(select(SignInToken)).all() == []
        kept = s.get(Submission, sub)
        assert (kept.submitter_id, kept.contact) == (None, None)
        names = {e.actor_name for e in s.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub))}
        assert "dr-li" not in names and DELETED_USER in names
        assert s.get(TagReview, review).reviewer_id is None
        last = s.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (last.action, last.target_id, last.before, last.actor_id) == (
        "delete_account", user.id, {"username": "dr-li", "submissions": 1}, None)
    create_user("dr-li", OTHER)  # the name is free again


def test_reset_password_ends_sign_ins_and_the_throttle_and_is_audited(any_engine) -> None:
    user = create_user("dr-li", GOOD)
    token = issue_token(user)
    fail("dr-li", throttle.ACCOUNT_LIMIT)
    with pytest.raises(AccountError, match="too easy"):
        reset_password("dr-li", "12345678")
    with pytest.raises(AccountError, match="No user named 'nobody'"):
        reset_password("nobody", OTHER)
    reset_password("DR-LI", OTHER)
    assert user_for_token(token) is None and authenticate("dr-li", OTHER) is not None
    with Session(any_engine) as s:
        row = s.exec(select(AuditLog)).one()
    assert (row.actor_name, row.action, row.target_id) == ("CLI", "reset_password", user.id)
    assert OTHER not in str(row.before) + str(row.after)


# case duplicates in a database from before names were case-insensitive ------------------------------------------

def test_duplicate_names_of_an_older_database_are_listed_and_renamed(db_url: str) -> None:
    legacy = MetaData()
    users = Table("users", legacy, Column("id", Integer, primary_key=True),
                  Column("username", String(64), unique=True, nullable=False))
    AuditLog.__table__.to_metadata(legacy)
    engine = make_engine(db_url)
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(users), [{"username": n} for n in ("Alice", "bob", "alice", "ALICE", "carol")])
    assert duplicate_names(engine=engine) == [[(1, "Alice"), (3, "alice"), (4, "ALICE")]]
    assert rename_duplicates(engine=engine) == [("alice", "alice-3"), ("ALICE", "ALICE-4")]
    assert duplicate_names(engine=engine) == []
    with engine.connect() as conn:
        assert [r.username for r in conn.execute(users.select().order_by(users.c.id))] == [
            "Alice", "bob", "alice-3", "ALICE-4", "carol"]
        audit = conn.execute(AuditLog.__table__.select()).all()
    assert [(a.actor_name, a.action, a.before["username"]) for a in audit] == [
        ("CLI", "rename_user", "alice"), ("CLI", "rename_user", "ALICE")]
    engine.dispose()
