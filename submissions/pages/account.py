"""Account page: sign in (local account or OIDC when configured), create an account, sign out; for a signed-in
local account also change the password, sign out everywhere and delete the account."""
from __future__ import annotations

import streamlit as st

from common.settings import get_settings
from submissions.account_changes import DELETED_USER, change_password, delete_account, sign_out_everywhere
from submissions.accounts import AccountError, authenticate, create_user
from submissions.session import client_key, current_user, oidc_providers, sign_in, sign_out
from common.display import md_escape

NOTICE_KEY = "account_notice"  # what the last action did, shown once after its rerun


def _done(notice: str) -> None:
    st.session_state[NOTICE_KEY] = notice
    st.rerun()


def _account_actions(user) -> None:  # type: ignore[no-untyped-def]
    """Change password, sign out everywhere, delete account: each needs the current password but signing out."""
    with st.expander("Change password"):
        with st.form("change_password_form", clear_on_submit=True):
            current = st.text_input("Current password", type="password", key="current_password",
                                    autocomplete="current-password")
            new = st.text_input("New password", type="password", key="changed_password", autocomplete="new-password")
            repeat = st.text_input("Repeat new password", type="password", key="changed_password_repeat",
                                   autocomplete="new-password")
            if st.form_submit_button("Change password"):
                if new != repeat:
                    st.error("The two new passwords differ.")
                else:
                    try:
                        changed = change_password(user.id, current, new, client=client_key())
                    except AccountError as exc:
                        st.error(md_escape(str(exc)))
                    else:
                        sign_in(changed)  # this browser stays signed in with a new token; the others are signed out
                        _done("Password changed. Every other browser is signed out.")
    with st.expander("Sign out everywhere"):
        st.caption("Ends the remembered sign-in in every browser and tab, this one included.")
        if st.button("Sign out everywhere", key="sign_out_everywhere"):
            ended = sign_out_everywhere(user.id)
            sign_out()
            _done(f"Signed out everywhere ({ended} remembered sign-in{'s' if ended != 1 else ''} ended).")
    with st.expander("Delete account"):
        st.caption(f"Deletes the account and its sign-ins. Your submissions and their results stay on the site, "
                   f"without your name or contact, attributed to \"{DELETED_USER}\".")
        with st.form("delete_account_form", clear_on_submit=True):
            password = st.text_input("Password", type="password", key="delete_password",
                                     autocomplete="current-password")
            if st.form_submit_button("Delete my account"):
                try:
                    delete_account(user.id, password, client=client_key())
                except AccountError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    sign_out()
                    _done("Your account was deleted.")


st.title("Account · 账户")
user = current_user()
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.info(notice)

if user is not None:
    role = "organizer" if user.is_organizer else "submitter"
    st.success(f"Signed in as **{md_escape(user.username)}** ({role}).")
    if user.password_hash:
        st.caption(f"This browser keeps you signed in for {get_settings().sign_in_days} days, across reloads and "
                   "tabs, unless you sign out. Sign out on a shared computer.")
    if st.button("Sign out", key="sign_out"):
        sign_out()
        st.rerun()
    if user.password_hash:
        _account_actions(user)
    else:
        st.caption("Your sign-in is managed by your identity provider.")
    st.stop()

st.caption("Anyone can browse the leaderboard; sign in to submit models.")
providers = oidc_providers()
if providers:
    st.subheader("Sign in with an identity provider")
    for provider in providers:
        label = "Sign in" if provider == "default" else f"Sign in with {provider.replace('-', ' ').title()}"
        if st.button(label, key=f"oidc_{provider}"):
            st.login(None if provider == "default" else provider)

sign_in_tab, create_tab = st.tabs(["Sign in", "Create account"])
with sign_in_tab:
    with st.form("sign_in_form"):
        username = st.text_input("User name", key="login_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")  # password managers fill it
        if st.form_submit_button("Sign in"):
            try:
                found = authenticate(username, password, client=client_key())
            except AccountError as exc:  # throttled: too many failed sign-ins
                st.error(md_escape(str(exc)))
            else:
                if found is None:
                    st.error("Unknown user name or wrong password.")
                else:
                    sign_in(found)
                    st.rerun()
with create_tab:
    st.caption("A phrase of a few uncommon words makes a good password; common passwords, patterns and your user "
               "name are refused.")
    with st.form("create_form"):
        new_name = st.text_input("User name", key="new_username")
        new_email = st.text_input("E-mail (optional, used as your default contact)", key="new_email")
        new_password = st.text_input("Password (at least 8 characters)", type="password", key="new_password")
        repeat = st.text_input("Repeat password", type="password", key="new_password_repeat")
        if st.form_submit_button("Create account"):
            if new_password != repeat:
                st.error("The two passwords differ.")
            else:
                try:
                    created = create_user(new_name, new_password, email=new_email.strip() or None)
                except AccountError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    sign_in(created)
                    st.rerun()
