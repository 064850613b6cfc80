"""Submit page: the form, the hub checks' verdict for every outcome, and the submitter's own submissions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape, plural
from common.i18n import t
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
st.markdown(
    f"Models are read from the Hugging Face hub, or from ModelScope for ids written `modelscope:<org>/<name>`, "
    f"pinned to the commit SHA of the revision you give, and evaluated "
    f"once per model, commit and precision. Requirements: public (not gated), weights in **safetensors**, at most "
    f"**{settings.max_params_b:g}B** parameters, a model card with a **license**, a config and tokenizer that load "
    f"without remote code (models with remote code wait for an organizer's review), and a chat template if you ask "
    f"for it. Each account may submit **{settings.rate_limit_count}** models per **{settings.rate_limit_days}** days."
)

user = current_user()
if user is None:
    st.info("Sign in on the Account page to submit a model. Anonymous visitors can browse the leaderboard and "
            "the queue.")
    st.stop()

left = submissions_left(user.id)
st.caption(f"You can make {plural(left, 'more submission')} in the current {settings.rate_limit_days}-day window.")

st.caption(f"Models are checked on {md_escape(hub_endpoint())} (the hub, or the mirror this site uses); ModelScope "
           f"ids on {md_escape(modelscope_endpoint())}.")
with st.form("submit_form"):
    hub_id = st.text_input("Model id on the hub or ModelScope", placeholder="organization/model-name", key="hub_id",
                           help="A Hugging Face hub id such as `Qwen/Qwen2.5-0.5B-Instruct`, or a ModelScope id "
                                "with its prefix, such as `modelscope:qwen/Qwen2.5-0.5B-Instruct`. Both are checked "
                                "the same way.")
    revision = st.text_input("Revision (branch, tag or commit)", key="revision",
                             placeholder="default branch: main on the hub, master on ModelScope")
    precision = st.selectbox("Precision", PRECISIONS, key="precision")
    model_type = st.selectbox("Model type", list(MODEL_TYPES), index=list(MODEL_TYPES).index("chat"),
                              format_func=MODEL_TYPES.__getitem__, key="model_type")
    use_chat_template = st.checkbox("Use the model's chat template", value=True, key="use_chat_template")
    contact = st.text_input("Contact (e-mail or hub user name)", value=user.email or user.username, key="contact")
    send = st.form_submit_button("Submit")

if send:
    with st.spinner("Checking the model…"):
        outcome = submit_model(user.id, hub_id=hub_id, revision=revision, precision=precision,
                               model_type=model_type, use_chat_template=use_chat_template, contact=contact)
    if outcome.status == "accepted":
        st.success(md_escape(outcome.message))
    elif outcome.status == "held":
        st.info(md_escape(outcome.message))
    elif outcome.problems:
        st.error("The form has problems:\n\n" + "\n".join(f"- {md_escape(p)}" for p in outcome.problems))
    else:
        st.error(md_escape(outcome.message))
    # the checks, unless the message above already says all they would (e.g. the hub could not be reached)
    checks = outcome.check.checks if outcome.check is not None else []
    if checks and not (len(checks) == 1 and checks[0].message == outcome.message):
        with st.expander("Hub checks", expanded=outcome.status == "refused"):
            for check in checks:
                st.text(f"{'✔' if check.passed else '✘'} {check.name}: {check.message}")

st.subheader(t("submit.h_yours"))
mine = submissions_of(user.id)
if not mine:
    st.caption("None yet.")
else:
    st.dataframe(
        pd.DataFrame([{"#": r.submission_id, "model": r.hub_id, "revision": r.revision, "commit": r.commit_sha[:12],
                       "precision": r.precision, "state": r.state, "reason": r.reason or "",
                       "progress": f"{r.progress_done}/{r.progress_total}" if r.progress_total else "",
                       "results": f"model?model={r.model_id}" if r.state == "finished" else None,
                       "submitted": r.submitted_at} for r in mine]),
        column_config={"results": st.column_config.LinkColumn("results", display_text="open ›",
                                                              help="The model's page, once its evaluation finished")},
        hide_index=True, width="stretch", key="my_submissions")
    labels = {r.submission_id: f"#{r.submission_id} {r.hub_id} ({r.precision})" for r in mine}
    shown = st.selectbox("History of", list(labels), format_func=labels.__getitem__, key="history_of")
    st.dataframe(history_frame(shown),
                 hide_index=True, width="stretch", key="my_history")
