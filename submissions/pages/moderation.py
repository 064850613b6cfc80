"""Moderation (organizers only): review submissions, act on one or many, see a submission's history and card."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import compact_count, md_escape, plural
from submissions.accounts import AccountError, NotAuthorized, set_organizer
from submissions.moderation import ACTIONS, ModerationError, moderate
from submissions.planning import planned_run
from submissions.states import State
from submissions.ui import history_frame, require_organizer_page
from submissions.views import SubmissionRow, all_submissions

organizer = require_organizer_page()


st.title("Moderation · 审核")

filter_cols = st.columns([2, 1])
states = filter_cols[0].multiselect("States", [s.value for s in State], default=["submitted"], key="states")
search = filter_cols[1].text_input("Model id contains", key="search")
rows = all_submissions(states=states, search=search)
RESULT_KEY = "moderation_result"
ACTED_KEY = "moderation_acted"  # the submissions the last action changed: History stays on them

if not rows:
    st.caption("No submissions match these states and search. Submissions that passed the hub checks are approved "
               "at once; add *approved*, *running* or *finished* to the states to see them.")
else:
    st.dataframe(pd.DataFrame([
        {"#": r.submission_id, "model": r.hub_id, "revision": r.revision, "commit": r.commit_sha[:12],
         "precision": r.precision, "type": r.model_type, "state": r.state, "params": compact_count(r.params),
         "license": r.license or "", "remote code": ("allowed" if r.allow_remote_code else "needs review")
         if r.needs_remote_code else "", "hidden": r.hidden, "flag": r.flag_reason or "", "reason": r.reason or "",
         "submitter": r.submitter or "", "contact": r.contact or "", "submitted": r.submitted_at} for r in rows]),
        hide_index=True, width="stretch", key="moderation_table")


def _label(row: SubmissionRow) -> str:
    return f"#{row.submission_id} {row.hub_id} ({row.precision}, {row.state})"


def _apply_action() -> None:
    """Form callback: it runs before the page is drawn again, so the table above already shows the change."""
    selected = list(st.session_state["selected"])
    try:
        done = moderate(organizer.id, st.session_state["action"], selected, st.session_state["reason"])
    except NotAuthorized as exc:
        st.session_state[RESULT_KEY] = ("error", md_escape(exc), [])
    except ModerationError as exc:
        lines = "\n".join(f"- {md_escape(p)}" for p in exc.problems)
        st.session_state[RESULT_KEY] = ("error", f"Nothing was changed:\n\n{lines}", [])
    else:
        st.session_state[RESULT_KEY] = ("success", f"{plural(len(done), 'change')} applied and recorded in the audit log.",
                                        done)
        st.session_state[ACTED_KEY] = selected
        st.session_state["history_of"] = selected[0]
        st.session_state["selected"] = []
        st.session_state["reason"] = ""


if rows:
    labels = {r.submission_id: _label(r) for r in rows}
    with st.form("moderation_form"):
        st.multiselect("Submissions", list(labels), format_func=labels.__getitem__, key="selected")
        st.selectbox("Action", list(ACTIONS), format_func=lambda a: ACTIONS[a].label, key="action")
        st.text_area("Reason (shown to the submitter; required to reject or flag)", key="reason")
        st.form_submit_button("Apply", on_click=_apply_action)
if RESULT_KEY in st.session_state:
    kind, message, done = st.session_state.pop(RESULT_KEY)
    (st.success if kind == "success" else st.error)(message)
    for line in done:
        st.text(line)

st.subheader("History and model card")
# The submissions just acted on stay listed even when the filter above no longer matches them (approved ones
# leave "submitted"), so the organizer sees the change they made.
listed = {r.submission_id for r in rows}
acted_ids = [i for i in st.session_state.get(ACTED_KEY, []) if i not in listed]
acted = all_submissions(ids=acted_ids) if acted_ids else []
history_rows = rows + acted
if history_rows:
    cards = {r.submission_id: r for r in history_rows}
    shown = st.selectbox("Submission", list(cards), format_func=lambda i: _label(cards[i]), key="history_of")
    st.dataframe(history_frame(shown),
                 hide_index=True, width="stretch", key="history_table")
    card = cards[shown]
    # The planner samples at most 500 items per task (tens of ms), so it is not cached: it follows the active suite.
    estimate, assumes = planned_run(shown)
    st.caption("Planned run: " + md_escape(estimate))
    st.caption(md_escape(assumes))
    st.text(f"Commit {card.commit_sha} · params {compact_count(card.params) or '—'} · license {card.license or '—'}"
            f" · flag: {card.flag_reason or '—'}")
    st.caption("Model card metadata, as the hub reported it at submission:")
    st.json(card.card_data or {}, expanded=False)
else:
    st.caption("Pick states above that match a submission to see its history and model card.")

st.subheader("Organizer role")
with st.form("role_form"):
    username = st.text_input("User name", key="role_username")
    grant_col, revoke_col = st.columns(2)
    grant = grant_col.form_submit_button("Grant organizer role")
    revoke = revoke_col.form_submit_button("Revoke organizer role")
if grant or revoke:
    try:
        changed = set_organizer(organizer.id, username, bool(grant))
    except (AccountError, NotAuthorized) as exc:
        st.error(md_escape(str(exc)))
    else:
        st.success(f"{md_escape(changed.username)} is {'now' if changed.is_organizer else 'no longer'} an organizer.")

st.subheader("Add a served model (API)")
st.caption("A model behind an OpenAI-compatible endpoint (a vendor's API, or our own vLLM / SGLang). The API key is "
           "never typed here: set MEDBENCH_API_KEY_<NAME> (or api_keys.<name> in secrets.toml) where the site and "
           "the worker run, and give its NAME. The endpoint is checked (GET /v1/models) before anything is stored.")
with st.form("served_form"):
    served_cols = st.columns(2)
    endpoint = served_cols[0].text_input("Endpoint (base URL)", placeholder="https://api.example.com/v1",
                                         key="served_endpoint")
    served_name = served_cols[1].text_input("Model name, as the endpoint lists it", key="served_model_name")
    key_name = served_cols[0].text_input("API key name (NAME of MEDBENCH_API_KEY_NAME; empty: no key)",
                                         key="served_key_name")
    served_label = served_cols[1].text_input("Leaderboard label (default: the model name)", key="served_label")
    price_cols = st.columns(4)
    temperature = price_cols[0].number_input("Temperature", 0.0, 2.0, 0.0, key="served_temperature")
    price_in = price_cols[1].number_input("Price per 1M prompt tokens", 0.0, value=0.0, key="served_price_in")
    price_out = price_cols[2].number_input("Price per 1M generated tokens", 0.0, value=0.0, key="served_price_out")
    currency = price_cols[3].text_input("Currency", "USD", key="served_currency")
    add_served = st.form_submit_button("Check and add")
if add_served:
    from submissions.served import ServedModelError, add_served_model

    try:
        added = add_served_model(organizer.id, endpoint=endpoint, model_name=served_name, key_name=key_name or None,
                                 label=served_label or None, decoding={
                                     "temperature": temperature, "price_input_per_1m": price_in,
                                     "price_output_per_1m": price_out, "currency": currency.strip().upper()})
    except (ServedModelError, NotAuthorized) as exc:
        st.error(f"Nothing was added: {md_escape(str(exc))}")
    else:
        st.success(md_escape(added.message))
