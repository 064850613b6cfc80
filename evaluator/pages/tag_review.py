"""Organizer page: review the automatic error tags of a seeded random sample of a run (accept or change the
primary category), and see how well the automatic tags agree with the reviews (Cohen's kappa, confusion).

Organizers only: the page checks the role itself, because a direct URL bypasses the navigation.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.db import session_scope
from common.display import mark_undecodable, md_escape
from evaluator.benchmark.agreement import agreement_summary, kappa_text
from evaluator.ops.review import ReviewError, draw_sample, record_review, review_context, reviewable_runs, reviews_of
from evaluator.benchmark.taxonomy import CATEGORIES
from submissions.ui import require_organizer_page

reviewer = require_organizer_page()
st.title("Tag review · 错误标签复核")
st.caption("Each automatic tag says how it was made (rule or judge model). Accept it, or change the primary "
           "category; agreement with the reviews is shown below and on the methodology page.")
if flash := st.session_state.pop("tag_review_flash", None):
    st.success(md_escape(flash))

with session_scope() as session:
    runs = reviewable_runs(session)
if not runs:
    st.info("No run has tagged results yet. Tags appear when a run is scored.")
    st.stop()

labels = {r["run_id"]: f"run {r['run_id']} · {r['model']} · {r['status']} · {r['n_tagged']} tagged, "
                       f"{r['n_reviewed']} reviewed" for r in runs}
left, middle, right = st.columns([3, 1, 1])
run_id = left.selectbox("Run", list(labels), format_func=labels.get, key="review_run")
size = int(middle.number_input("Sample size", min_value=1, max_value=500, value=20, step=5, key="review_size"))
seed = int(right.number_input("Seed", min_value=0, max_value=1_000_000, value=0, step=1, key="review_seed"))

with session_scope() as session:
    sample = draw_sample(session, run_id, size=size, seed=seed)
    done = reviews_of(session, [row.id for row in sample])
    contexts = {row.id: review_context(session, row) for row in sample}
st.progress(len(done) / len(sample), text=f"{len(done)} of {len(sample)} sampled tags reviewed (seed {seed})")


def _save(row_id: int, category: str | None, note: str) -> None:
    try:
        with session_scope() as session:
            review = record_review(session, row_id, human_primary=category, reviewer_id=reviewer.id, note=note)
        verdict = "accepted" if review.accepted else f"changed to {review.human_primary}"
        st.session_state["tag_review_flash"] = f"Row {row_id}: {verdict}."
        st.rerun()
    except ReviewError as error:
        st.error(md_escape(error))


for row in sample:
    tags = row.error_tags or {}
    review = done.get(row.id)
    status = (f"accepted: {review.human_primary}" if review and review.accepted
              else f"changed to {review.human_primary}" if review else "not reviewed")
    title = f"#{row.id} · {row.task} · order {row.order_index} · {row.error_primary} · {status}"
    with st.expander(md_escape(title)):
        context = contexts[row.id]
        st.markdown(f"**Automatic tag:** {md_escape(row.error_primary)} · made by {md_escape(tags.get('method', '?'))}"
                    + (f" · secondary: {md_escape(', '.join(map(str, tags.get('secondary') or [])))}"
                       if tags.get("secondary") else ""))
        st.caption(f"Rule: {md_escape(context.rule)}")
        st.text_area("Prompt", row.prompt, height=120, disabled=True, key=f"prompt-{row.id}")
        st.text_area("Model output", mark_undecodable(row.raw_output) or "(no text: scored by letter probabilities)",
                     height=120,
                     disabled=True, key=f"output-{row.id}")
        st.markdown(f"**Answer** (letters of the prompt above): {md_escape(context.answer or '(none read)')} · "
                    f"**Reference:** {md_escape(context.reference or '(no reference answer)')} · correct: "
                    f"{md_escape(row.correct)} · score: {md_escape(row.score)}")
        if len(context.orders) > 1:
            st.dataframe(pd.DataFrame([{
                "Order": o.order_index, "Answer (that order's letters)": o.answer or "(none)",
                "Same options in this prompt's letters": o.answer_in_reviewed or "(none)",
                "Correct": {True: "yes", False: "no"}.get(o.correct, "unscored"),
            } for o in context.orders]), hide_index=True, width="stretch", key=f"orders-{row.id}")
        with st.form(key=f"review-{row.id}"):
            current = review.human_primary if review else row.error_primary
            category = st.selectbox("Primary category", CATEGORIES, key=f"category-{row.id}",
                                    index=CATEGORIES.index(current) if current in CATEGORIES else 0)
            note = st.text_input("Note (optional)", value=(review.note or "") if review else "", key=f"note-{row.id}")
            accept, change = st.columns(2)
            if accept.form_submit_button("Accept automatic tag", key=f"accept-{row.id}"):
                _save(row.id, None, note)
            if change.form_submit_button("Save selected category", key=f"change-{row.id}"):
                _save(row.id, category, note)

st.header("Agreement with reviews")
with session_scope() as session:
    this_run, all_runs = agreement_summary(session, run_id), agreement_summary(session)


cols = st.columns(4)
cols[0].metric("Reviewed (this run)", this_run["n_reviewed"])
cols[1].metric("Accepted", this_run["n_accepted"])
cols[2].metric("Cohen's kappa (this run)", kappa_text(this_run["kappa"], this_run["kappa_ci"], this_run["n_reviewed"]))
cols[3].metric("Cohen's kappa (all runs)", kappa_text(all_runs["kappa"], all_runs["kappa_ci"], all_runs["n_reviewed"]))
st.caption(f"Kappa is shown from {this_run['kappa_min_reviews']} reviews on, with a 95% percentile bootstrap "
           "interval over the reviewed items: with fewer, the interval is wider than the 0.2-wide bands kappa is "
           "read by.")
if this_run["n_reviewed"]:
    st.subheader("Confusion: automatic (rows) × human (columns)")
    st.dataframe(pd.DataFrame(this_run["confusion"]).T[list(CATEGORIES)], width="stretch")
    st.dataframe(pd.DataFrame([{"category": c, **{k: v for k, v in figures.items()}}
                               for c, figures in this_run["per_category"].items()]),
                 hide_index=True, width="stretch")
