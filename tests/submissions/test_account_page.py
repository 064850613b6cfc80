"""The Account page's account rules and actions, driven by Streamlit's AppTest on a real SQLite database:
throttled sign-in, refused weak passwords and case-variant names, change password, sign out everywhere and
delete account."""
from __future__ import annotations

from tests.pages import shown

from sqlalchemy import update
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from common.timeutil import utcnow
from submissions import throttle
from submissions.accounts import authenticate, create_user
from submissions.remember import user_for_token
from submissions.tables import SignInFailure, Submission, User
from tests.submissions.factories import add_submission
from tests.submissions.test_pages import button, page

GOOD = "amber falcon 77"
NEW = "quiet meadow 19"


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(name)
    at.text_input(key="login_password").input(password)
    button(at, "Sign in").click().run()
    assert not at.exception
    return at


def other_tab(at: AppTest) -> AppTest:
    """A second tab of the same browser, restored from the remembered sign-in."""
    tab = page("account")
    tab.session_state["user_id"] = at.session_state["user_id"]
    tab.session_state["sign_in_token"] = at.session_state["sign_in_token"]
    assert tab.run().success
    return tab


def test_sign_in_is_throttled_with_a_clear_message(engine) -> None:
    create_user("dr-li", GOOD)
    at = page("account").run()
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert sign_in(at, "dr-li", "wrong guess 123").error[0].value == "Unknown user name or wrong password."
    sign_in(at, "Dr-Li", GOOD)  # the right password changes nothing now
    assert at.error[0].value == "Too many failed sign-ins for this account; try again in 15 minutes."
    assert "user_id" not in at.session_state
    with Session(engine) as s:
        s.exec(update(SignInFailure).values(at=utcnow() - throttle.WINDOW))
        s.commit()
    sign_in(at, "Dr-Li", GOOD)
    assert not at.error and "Signed in as **dr-li**" in at.success[0].value


def test_create_account_refuses_weak_passwords_and_case_variants(engine) -> None:
    create_user("Alice", GOOD)
    at = page("account").run()
    for name, password, message in (("newbie", "12345678", "Password: too easy to guess."),
                                    ("newbie", " " * 8, "Password: too easy to guess."),
                                    ("newbie", "newbie-2024", "Password: must not contain your user name."),
                                    ("alice", NEW, "The user name 'alice' is taken.")):
        at.text_input(key="new_username").input(name)
        at.text_input(key="new_password").input(password)
        at.text_input(key="new_password_repeat").input(password)
        button(at, "Create account").click().run()
        assert not at.exception and message in shown(at.error[0].value), (name, password, at.error)
    with Session(engine) as s:
        assert [u.username for u in s.exec(select(User))] == ["Alice"]


def test_change_password_keeps_this_tab_and_signs_out_the_others(engine) -> None:
    create_user("dr-li", GOOD)
    at = sign_in(page("account").run(), "dr-li", GOOD)
    second = other_tab(at)
    for current, new, repeat, message in ((GOOD, NEW, "typo", "The two new passwords differ."),
                                          ("wrong guess 123", NEW, NEW, "Current password: wrong."),
                                          (GOOD, "password", "password", "Password: too easy to guess.")):
        at.text_input(key="current_password").input(current)
        at.text_input(key="changed_password").input(new)
        at.text_input(key="changed_password_repeat").input(repeat)
        button(at, "Change password").click().run()
        assert message in shown(at.error[0].value)
    assert authenticate("dr-li", GOOD) is not None  # refusals changed nothing
    at.text_input(key="current_password").input(GOOD)
    at.text_input(key="changed_password").input(NEW)
    at.text_input(key="changed_password_repeat").input(NEW)
    button(at, "Change password").click().run()
    assert not at.error and at.info[0].value == "Password changed. Every other browser is signed out."
    assert user_for_token(at.session_state["sign_in_token"]).username == "dr-li"  # this tab: a new token
    assert not second.run().success and "user_id" not in second.session_state
    assert authenticate("dr-li", GOOD) is None and authenticate("dr-li", NEW) is not None


def test_sign_out_everywhere_ends_every_tab(engine) -> None:
    create_user("dr-li", GOOD)
    at = sign_in(page("account").run(), "dr-li", GOOD)
    second = other_tab(at)
    sign_in(page("account").run(), "dr-li", GOOD)  # another browser
    button(at, "Sign out everywhere").click().run()
    assert at.info[0].value == "Signed out everywhere (2 remembered sign-ins ended)."
    assert "user_id" not in at.session_state and at.get("tab")  # the sign-in form is back
    assert not second.run().success and "user_id" not in second.session_state


def test_delete_account_needs_the_password_and_keeps_submissions(engine) -> None:
    user = create_user("dr-li", GOOD)
    sub = add_submission(engine, user.id)
    at = sign_in(page("account").run(), "dr-li", GOOD)
    assert any('without your name or contact, attributed to "deleted user"' in c.value for c in at.caption)
    at.text_input(key="delete_password").input("wrong guess 123")
    button(at, "Delete my account").click().run()
    assert shown(at.error[0].value) == "Current password: wrong."
    with Session(engine) as s:
        assert s.get(User, user.id) is not None
    at.text_input(key="delete_password").input(GOOD)
    button(at, "Delete my account").click().run()
    assert not at.exception and at.info[0].value == "Your account was deleted."
    assert "user_id" not in at.session_state
    with Session(engine) as s:
        assert s.exec(select(User)).all() == []
        assert s.get(Submission, sub).submitter_id is None
