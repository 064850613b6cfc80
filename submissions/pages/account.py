"""Account page: sign in (local account or OIDC when configured), create an account, sign out."""
from __future__ import annotations

import streamlit as st

from common.settings import get_settings
from submissions.accounts import AccountError, authenticate, create_user
from submissions.session import current_user, oidc_providers, sign_in, sign_out
from common.display import md_escape

st.title("Account · 账户")
user = current_user()

if user is not None:
    role = "organizer" if user.is_organizer else "submitter"
    st.success(f"Signed in as **{md_escape(user.username)}** ({role}).")
    if user.password_hash:
        st.caption(f"This browser keeps you signed in for {get_settings().sign_in_days} days, across reloads and "
                   "tabs, unless you sign out. Sign out on a shared computer.")
    if st.button("Sign out", key="sign_out"):
        sign_out()
        st.rerun()
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
            found = authenticate(username, password)
            if found is None:
                st.error("Unknown user name or wrong password.")
            else:
                sign_in(found)
                st.rerun()
with create_tab:
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
