"""Submit page: the form, the hub checks' verdict for every outcome, and the submitter's own submissions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape
from common.i18n import t, table_headers, tn
from common.settings import get_settings
from submissions.forms import MODEL_TYPES, PRECISIONS
from submissions.hub import hub_endpoint
from submissions.intake import submit_model, submissions_left
from submissions.modelscope import modelscope_endpoint
from submissions.session import current_user
from submissions.ui import history_frame
from submissions.views import submissions_of

settings = get_settings()
st.title(t("submit.title"))
st.markdown(t("submit.intro", max_params=f"{settings.max_params_b:g}", count=settings.rate_limit_count,
               days=settings.rate_limit_days))

user = current_user()
if user is None:
    st.info(t("submit.sign_in"))
    st.stop()

left = submissions_left(user.id)
st.caption(tn("submit.left", left, days=settings.rate_limit_days))

st.caption(t("submit.endpoints", hub=md_escape(hub_endpoint()), modelscope=md_escape(modelscope_endpoint())))
with st.form("submit_form"):
    hub_id = st.text_input(t("submit.model_id"), placeholder="organization/model-name", key="hub_id",
                           help=t("submit.model_id_help"))
    revision = st.text_input(t("submit.revision"), key="revision", placeholder=t("submit.revision_placeholder"))
    precision = st.selectbox(t("submit.precision"), PRECISIONS, key="precision")
    model_type = st.selectbox(t("submit.model_type"), list(MODEL_TYPES), index=list(MODEL_TYPES).index("chat"),
                              format_func=MODEL_TYPES.__getitem__, key="model_type")
    use_chat_template = st.checkbox(t("submit.chat_template"), value=True, key="use_chat_template")
    contact = st.text_input(t("submit.contact"), value=user.email or user.username, key="contact")
    send = st.form_submit_button(t("submit.send"))

if send:
    with st.spinner(t("submit.checking")):
        outcome = submit_model(user.id, hub_id=hub_id, revision=revision, precision=precision,
                               model_type=model_type, use_chat_template=use_chat_template, contact=contact)
    if outcome.status == "accepted":
        st.success(md_escape(outcome.message))
    elif outcome.status == "held":
        st.info(md_escape(outcome.message))
    elif outcome.problems:
        st.error(t("submit.problems") + "\n\n" + "\n".join(f"- {md_escape(p)}" for p in outcome.problems))
    else:
        st.error(md_escape(outcome.message))
    # the checks, unless the message above already says all they would (e.g. the hub could not be reached)
    checks = outcome.check.checks if outcome.check is not None else []
    if checks and not (len(checks) == 1 and checks[0].message == outcome.message):
        with st.expander(t("submit.hub_checks"), expanded=outcome.status == "refused"):
            for check in checks:
                st.text(f"{'✔' if check.passed else '✘'} {check.name}: {check.message}")

st.subheader(t("submit.h_yours"))
mine = submissions_of(user.id)
if not mine:
    st.caption(t("submit.none_yet"))
else:
    mine_table = pd.DataFrame([{"#": r.submission_id, "model": r.hub_id, "revision": r.revision,
                               "commit": r.commit_sha[:12], "precision": r.precision, "state": r.state, "reason": r.reason or "",
                       "progress": f"{r.progress_done}/{r.progress_total}" if r.progress_total else "",
                       "results": f"model?model={r.model_id}" if r.state == "finished" else None,
                       "submitted": r.submitted_at} for r in mine])
    st.dataframe(mine_table, column_config=table_headers(mine_table.columns, {"results": st.column_config.LinkColumn(
        display_text=t("submit.open_link"), help=t("submit.results_help"))}),
        hide_index=True, width="stretch", key="my_submissions")
    labels = {r.submission_id: f"#{r.submission_id} {r.hub_id} ({r.precision})" for r in mine}
    shown = st.selectbox(t("submit.history_of"), list(labels), format_func=labels.__getitem__, key="history_of")
    history = history_frame(shown)
    st.dataframe(history, hide_index=True, width="stretch", key="my_history",
                 column_config=table_headers(history.columns))
