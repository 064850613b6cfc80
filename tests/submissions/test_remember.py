"""Remembered local sign-ins (submissions.remember) in Streamlit's AppTest, on real SQLite and PostgreSQL.

AppTest cannot seed ``st.context.cookies`` (its sessions have no browser client), so a "fresh session" here is a
new AppTest that hands the token to ``submissions.session.restore``, the function a new session calls with the
cookie's value; tests/e2e/test_full_flow.py covers the cookie itself in Chromium (a reload stays signed in).
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, update
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from common.timeutil import utcnow
from submissions.accounts import create_user
from submissions.remember import COOKIE_NAME, issue_token, revoke_token, user_for_token
from submissions.tables import SignInToken, User
from tests.submissions.test_pages import button, page

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def fresh_session(token: str) -> str:
    """Who a new Streamlit session whose browser sent ``token`` sees as signed in ("nobody" when refused)."""

    def script(token: str) -> None:
        import streamlit as st

        from submissions.session import current_user, restore

        restore(token)
        user = current_user()
        st.text(user.username if user else "nobody")

    at = AppTest.from_function(script, args=(token,), default_timeout=30).run()
    assert not at.exception
    return at.text[0].value


def sign_in_on_account_page(username: str, password: str) -> AppTest:
    at = page("account").run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    button(at, "Sign in").click().run()
    assert not at.exception and not at.error
    return at


def cookie_data(at: AppTest) -> dict:
    """What the app told the browser's sign-in cookie to hold on its last run."""
    (writer,) = [e for e in at.sidebar if getattr(e, "type", None) == "bidi_component"]
    return json.loads(writer.proto.json)


def test_sign_in_issues_a_token_that_a_fresh_session_restores(any_engine, monkeypatch) -> None:
    monkeypatch.setenv("MEDBENCH_SIGN_IN_DAYS", "3")
    from common.settings import get_settings

    get_settings.cache_clear()
    user = create_user("dr-li", "long enough pass")
    at = sign_in_on_account_page("dr-li", "long enough pass")
    token = at.session_state["sign_in_token"]
    assert at.session_state["user_id"] == user.id
    assert "keeps you signed in for 3 days" in " ".join(c.value for c in at.caption)
    with Session(any_engine) as s:
        row = s.exec(select(SignInToken)).one()
    # the server keeps only a digest: a copy of the database signs nobody in
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert row.user_id == user.id
    expires = row.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert timedelta(days=3) - timedelta(minutes=5) < expires <= timedelta(days=3)
    assert fresh_session(token) == "dr-li"


def test_app_tells_the_browser_to_keep_the_token_and_drops_it_when_signed_out(engine) -> None:
    user = create_user("dr-li", "long enough pass")
    token = issue_token(user)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user_id"] = user.id
    at.session_state["sign_in_token"] = token
    at.run()
    assert not at.exception
    assert cookie_data(at) == {"name": COOKIE_NAME, "token": token, "clear": None, "maxAge": 14 * 24 * 3600}
    anonymous = AppTest.from_file(APP, default_timeout=60).run()
    # a tab that never signed in leaves the cookie alone (another tab may hold a sign-in in it)
    assert (cookie_data(anonymous)["token"], cookie_data(anonymous)["clear"]) == (None, None)
    signed_out = AppTest.from_file(APP, default_timeout=60)
    signed_out.session_state["user_id"] = user.id
    signed_out.session_state["sign_in_token"] = token
    signed_out.run()
    revoke_token(token)  # signed out elsewhere: this session finds its token revoked on its next run
    signed_out.run()
    assert (cookie_data(signed_out)["token"], cookie_data(signed_out)["clear"]) == (None, token)


def test_creating_an_account_signs_in_and_is_remembered(engine) -> None:
    at = page("account").run()
    at.text_input(key="new_username").input("dr-wu")
    at.text_input(key="new_password").input("long enough pass")
    at.text_input(key="new_password_repeat").input("long enough pass")
    button(at, "Create account").click().run()
    assert not at.exception and not at.error
    assert fresh_session(at.session_state["sign_in_token"]) == "dr-wu"


def _tamper(token: str, engine) -> str:  # type: ignore[no-untyped-def]
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _expire(token: str, engine) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        s.exec(update(SignInToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    return token


def _new_password(token: str, engine) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        s.exec(update(User).values(password_hash=PasswordHasher().hash("another password")))
        s.commit()
    return token


def _delete_user(token: str, engine) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        s.exec(delete(User))
        s.commit()
        assert s.exec(select(SignInToken)).all() == []  # the user's tokens go with it
    return token


@pytest.mark.parametrize("spoil", [_tamper, _expire, _new_password, _delete_user],
                         ids=["tampered", "expired", "password-changed", "user-deleted"])
def test_spoiled_tokens_sign_nobody_in(any_engine, spoil) -> None:  # type: ignore[no-untyped-def]
    user = create_user("dr-li", "long enough pass")
    token = issue_token(user)
    assert fresh_session(token) == "dr-li"
    assert fresh_session(spoil(token, any_engine)) == "nobody"


def test_sign_out_revokes_the_token_in_every_session(any_engine) -> None:
    create_user("dr-li", "long enough pass")
    first = sign_in_on_account_page("dr-li", "long enough pass")
    token = first.session_state["sign_in_token"]
    second = page("account")  # a second tab, restored from the cookie, then signed out in the first
    second.session_state["user_id"] = first.session_state["user_id"]
    second.session_state["sign_in_token"] = token
    assert "Signed in as **dr-li**" in second.run().success[0].value
    first.button(key="sign_out").click().run()
    assert "sign_in_token" not in first.session_state and "user_id" not in first.session_state
    with Session(any_engine) as s:
        assert s.exec(select(SignInToken)).all() == []
    assert user_for_token(token) is None and fresh_session(token) == "nobody"
    second.run()
    assert not second.success and "user_id" not in second.session_state
    assert second.get("tab")  # the sign-in form is back


def test_accounts_without_a_password_get_no_token(engine) -> None:
    with Session(engine) as s:
        oidc_user = User(username="hf-user", oidc_subject="https://huggingface.co|1")
        s.add(oidc_user)
        s.commit()
        s.refresh(oidc_user)
    with pytest.raises(ValueError, match="local accounts"):
        issue_token(oidc_user)
    with Session(engine) as s:
        assert s.exec(select(SignInToken)).all() == []
