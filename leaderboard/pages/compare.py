"""Two to four models side by side: radar overlay, per-task differences, and the questions they disagree on.

The chosen models are kept in the URL (``/compare?models=3&models=org/name``; ids or hub ids).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape
from evaluator.item_access import PrivateItems
from evaluator.benchmark.tasks import TASKS
from leaderboard import cache, charts
from evaluator.benchmark.protocols import PROTOCOLS
from common.i18n import t, table_headers, th
from leaderboard.labels import dimension_name, fmt_score, score_with_ci
from leaderboard.ranking import DIMENSIONS, SCORE_KEYS
from leaderboard.item_browser import tag_text
from leaderboard.sections import question_card
from leaderboard.table_view import model_labels
from leaderboard.url_state import warn_unknown
from submissions.session import is_organizer

MAX_MODELS = 4
ALL = "all"

st.title(t("compare.title"))
st.caption(t("app.research_notice"))
version = cache.version()
warn_unknown("protocol", list(PROTOCOLS))
protocol = st.selectbox(t("protocol.label"), PROTOCOLS, key="protocol",
                        bind="query-params", help=t("protocol.help"))
frame = cache.leaderboard_frame(version, protocol)
if frame.empty:
    st.info(t("compare.no_results"))
    st.stop()
if len(frame) == 1:
    st.info(t("compare.only_one", model=md_escape(frame["model"].iloc[0])))
    st.stop()

labels = dict(zip(frame["model_id"].astype(str), model_labels(frame)))  # names, no "#1": ranks can tie
by_hub = {}
for r in frame.itertuples():  # a hub id stands for its best-ranked entry
    by_hub.setdefault(r.model, str(r.model_id))
asked = st.query_params.get_all("models")
chosen = [ref if ref in labels else by_hub.get(ref) for ref in asked]
unknown = [ref for ref, found in zip(asked, chosen) if found is None]
if unknown:
    st.warning(t("compare.unknown", models=md_escape(', '.join(unknown))))
chosen = list(dict.fromkeys(c for c in chosen if c))
if len(chosen) > MAX_MODELS:
    st.warning(t("compare.too_many", n=MAX_MODELS))
    chosen = chosen[:MAX_MODELS]
selection = st.multiselect(t("compare.models"), list(labels), default=chosen, format_func=labels.get,
                           max_selections=MAX_MODELS, key="compare_models")
st.query_params["models"] = selection
if len(selection) < 2:
    st.info(t("compare.choose"))
    st.stop()

reports = {labels[m]: cache.report(version, m, protocol) for m in selection}
st.caption(t("compare.protocol_note", protocol=protocol))
names = list(reports)

dimension_rows = {name: rep.dimensions.set_index("dimension") for name, rep in reports.items()}
st.plotly_chart(charts.radar({name: {d: dims.loc[d, "score"] for d in DIMENSIONS}
                              for name, dims in dimension_rows.items()}), key="compare_radar")

st.subheader(t("compare.h_dimensions"))
dimension_table = pd.DataFrame({
    "Dimension": [dimension_name(k) for k in SCORE_KEYS],
    **{name: [score_with_ci(*dims.loc[k, ["score", "ci_low", "ci_high"]]) for k in SCORE_KEYS]
       for name, dims in dimension_rows.items()},
})
st.dataframe(dimension_table, hide_index=True, column_config=table_headers(dimension_table.columns))

st.subheader(t("compare.h_tasks"))
scores = pd.DataFrame({name: rep.tasks.set_index("task")["score"] for name, rep in reports.items()}).reindex(
    [t for t in TASKS])
baseline, others = names[0], names[1:]
task_rows = pd.DataFrame({"Task": scores.index})
for name, rep in reports.items():
    tasks = rep.tasks.set_index("task").reindex(scores.index)
    task_rows[name] = [score_with_ci(s, lo, hi) for s, lo, hi in zip(tasks["score"], tasks["ci_low"],
                                                                      tasks["ci_high"])]
for name in others:
    task_rows[f"Δ {name}"] = (scores[name] - scores[baseline]).map(lambda d: fmt_score(d, signed=True)).to_numpy()
st.caption(t("compare.differences", baseline=md_escape(baseline)))
st.dataframe(task_rows, hide_index=True, column_config=table_headers(task_rows.columns))
st.plotly_chart(charts.task_differences(scores.dropna(how="all"), baseline, others), key="compare_diff")

st.subheader(t("compare.h_disagree"))
st.caption(t("compare.disagree_note"))
warn_unknown("dtask", [ALL, *TASKS])
task = st.selectbox(th("Task"), [ALL, *TASKS], key="dtask", bind="query-params")
run_ids = tuple(int(rep.run["id"]) for rep in reports.values())
organizer = is_organizer()
try:
    total, _ = cache.disagreements(version, run_ids, 1, 1, None if task == ALL else task, organizer)
except PrivateItems as exc:  # the gate (evaluator.item_access): a private suite's questions stay unpublished
    st.info(md_escape(exc), icon=":material/lock:")
    st.stop()
if total == 0:
    st.info(t("compare.agree") if task == ALL else t("compare.agree_task", task=task))
    st.stop()
page_size = 10
pages = -(-total // page_size)
page = st.pagination(pages, key="dpage", bind="query-params") if pages > 1 else 1
_, items = cache.disagreements(version, run_ids, min(page, pages), page_size, None if task == ALL else task,
                               organizer)
st.caption(t("compare.page", total=total, page=min(page, pages), pages=pages))
run_names = {int(rep.run["id"]): name for name, rep in reports.items()}
for entry in items:
    verdicts = " · ".join(f"{run_names[run_id]}: {'✓' if a and a.correct else '✗'}" for run_id, a in
                          entry.answers.items())
    with st.expander(md_escape(f"{entry.item.item_key} · {entry.item.task} — {verdicts}")):
        answers = pd.DataFrame({
            "Model": [run_names[run_id] for run_id in entry.answers],
            "Answer (original options)": [None if a is None else str(a.parsed_answer) for a in entry.answers.values()],
            "Raw output": [None if a is None else (a.raw_output or "")[:200] for a in entry.answers.values()],
            "Verdict": ["—" if a is None else t("card.right" if a.correct else "card.wrong")
                        for a in entry.answers.values()],
            "Error tag (how it was made)": ["" if a is None else tag_text(a) for a in entry.answers.values()],
        })
        st.dataframe(answers, hide_index=True, column_config=table_headers(answers.columns))
        question_card(entry.item, show_orders=False)
