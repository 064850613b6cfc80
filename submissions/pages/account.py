"""Account page: sign in (local account or OIDC when configured), create an account, sign out; for a signed-in
local account also change the password, sign out everywhere and delete the account."""
from __future__ import annotations

import streamlit as st

from common.i18n import t, tn
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
    with st.expander(t("account.change_password")):
        with st.form("change_password_form", clear_on_submit=True):
            current = st.text_input(t("account.current_password"), type="password", key="current_password",
                                    autocomplete="current-password")
            new = st.text_input(t("account.new_password"), type="password", key="changed_password", autocomplete="new-password")
            repeat = st.text_input(t("account.repeat_new_password"), type="password", key="changed_password_repeat",
                                   autocomplete="new-password")
            if st.form_submit_button(t("account.change_password")):
                if new != repeat:
                    st.error(t("account.new_passwords_differ"))
                else:
                    try:
                        changed = change_password(user.id, current, new, client=client_key())
                    except AccountError as exc:
                        st.error(md_escape(str(exc)))
                    else:
                        sign_in(changed)  # this browser stays signed in with a new token; the others are signed out
                        _done(t("account.password_changed"))
    with st.expander(t("account.sign_out_everywhere")):
        st.caption(t("account.sign_out_everywhere_help"))
        if st.button(t("account.sign_out_everywhere"), key="sign_out_everywhere"):
            ended = sign_out_everywhere(user.id)
            sign_out()
            _done(tn("account.signed_out_everywhere", ended))
    with st.expander(t("account.delete")):
        st.caption(t("account.delete_help", deleted=DELETED_USER))
        with st.form("delete_account_form", clear_on_submit=True):
            password = st.text_input(t("account.password"), type="password", key="delete_password",
                                     autocomplete="current-password")
            if st.form_submit_button(t("account.delete_mine")):
                try:
                    delete_account(user.id, password, client=client_key())
                except AccountError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    sign_out()
                    _done(t("account.deleted"))


st.title(t("account.title"))
user = current_user()
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.info(notice)

if user is not None:
    role = t("account.organizer") if user.is_organizer else t("account.submitter")
    st.success(t("account.signed_in_as", user=md_escape(user.username), role=role))
    if user.password_hash:
        st.caption(t("account.remembered", days=get_settings().sign_in_days))
    if st.button(t("account.sign_out"), key="sign_out"):
        sign_out()
        st.rerun()
    if user.password_hash:
        _account_actions(user)
    else:
        st.caption(t("account.oidc_managed"))
    st.stop()

st.caption(t("account.anyone"))
providers = oidc_providers()
if providers:
    st.subheader(t("account.h_oidc"))
    for provider in providers:
        label = (t("account.sign_in") if provider == "default"
                 else t("account.sign_in_with", provider=provider.replace('-', ' ').title()))
        if st.button(label, key=f"oidc_{provider}"):
            st.login(None if provider == "default" else provider)

sign_in_tab, create_tab = st.tabs([t("account.sign_in"), t("account.create")])
with sign_in_tab:
    with st.form("sign_in_form"):
        username = st.text_input(t("account.user_name"), key="login_username", autocomplete="username")
        password = st.text_input(t("account.password"), type="password", key="login_password",
                                 autocomplete="current-password")  # password managers fill it
        if st.form_submit_button(t("account.sign_in")):
            try:
                found = authenticate(username, password, client=client_key())
            except AccountError as exc:  # throttled: too many failed sign-ins
                st.error(md_escape(str(exc)))
            else:
                if found is None:
                    st.error(t("account.wrong_password"))
                else:
                    sign_in(found)
                    st.rerun()
with create_tab:
    st.caption(t("account.password_advice"))
    with st.form("create_form"):
        new_name = st.text_input(t("account.user_name"), key="new_username")
        new_email = st.text_input(t("account.email"), key="new_email")
        new_password = st.text_input(t("account.new_account_password"), type="password", key="new_password")
        repeat = st.text_input(t("account.repeat_password"), type="password", key="new_password_repeat")
        if st.form_submit_button(t("account.create")):
            if new_password != repeat:
                st.error(t("account.passwords_differ"))
            else:
                try:
                    created = create_user(new_name, new_password, email=new_email.strip() or None)
                except AccountError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    sign_in(created)
                    st.rerun()
