"""One model in depth, opened from the leaderboard or by URL: ``/model?model=<ModelEntry.id or hub id>``.

Scores with intervals, robustness and position bias, the error taxonomy with the advice it implies, every
question the model was asked, and the card that reproduces the run. The open tab is kept in the URL too.
"""
from __future__ import annotations

import streamlit as st

from common.display import md_escape
from leaderboard import cache, sections
from evaluator.benchmark.protocols import PROTOCOLS
from common.i18n import t
from leaderboard.labels import ROBUSTNESS, cost_line, dimension_name, fmt_score, is_missing, protocol_line
from leaderboard.model_report import ModelNotFound
from leaderboard.url_state import warn_unknown
from evaluator.benchmark.suites.visibility import LABELS as VISIBILITY_LABELS
from submissions.session import is_organizer

TABS = ["Scores", ROBUSTNESS, "Errors & advice", "Questions", "Reproducibility"]

version = cache.version()
organizer = is_organizer()
ref = st.query_params.get("model", "")
if not ref:
    st.title(t("model.title"))  # until a model is chosen; then its name
    frame = cache.leaderboard_frame(version)
    if frame.empty:
        st.info(t("model.no_results"))
        st.stop()
    st.markdown(t("model.choose_below"))
    ids = {f"#{r.rank} {r.model} ({r.precision})": str(r.model_id) for r in frame.itertuples()}
    choice = st.selectbox(t("model.choose"), list(ids), index=None, key="pick_model")
    if choice is None:
        st.stop()
    st.query_params["model"] = ids[choice]
    st.rerun()  # render the chosen model's page from its URL, as a shared link would

warn_unknown("protocol", list(PROTOCOLS))
asked = st.query_params.get("protocol")
try:
    report = cache.report(version, ref, asked if asked in PROTOCOLS else None)
except ModelNotFound as exc:
    st.title(t("model.title"))
    st.error(md_escape(exc))
    st.stop()

sections.header(report)
st.caption(t("app.research_notice"))
if report.run is None:
    st.info(t("model.not_evaluated", suite=f" ({md_escape(report.suite['name'])})" if report.suite else ""))
    st.stop()

if len(report.protocols) > 1:  # runs of both protocols: the official one unless the URL asks for the other
    st.radio(t("protocol.label"), report.protocols, key="protocol",
             bind="query-params", horizontal=True, help=t("protocol.help"))
st.caption(protocol_line(report.protocol, report.run["reasoning"]))

overall = report.dimensions.set_index("dimension").loc["overall"]
metrics = st.columns(5)
metrics[0].metric(t("model.overall"), fmt_score(overall["score"]))
if not is_missing(overall["ci_low"]) and not is_missing(overall["ci_high"]):
    metrics[0].caption(f"95% CI [{fmt_score(overall['ci_low'])}, {fmt_score(overall['ci_high'])}]")
metrics[1].metric(t("col.strict_accuracy.title"), fmt_score(overall["strict_accuracy"]),
                  help=t("col.strict_accuracy.help"))
metrics[2].metric(t("col.robustness.title"), fmt_score(overall["robustness"]), help=t("col.robustness.help"))
metrics[3].metric(t("model.scored_items"), report.scored_items)
metrics[4].metric(t("model.suite"), md_escape(report.run["suite_name"]))  # a long name · version was cut to "demo · a767…"
metrics[4].caption(t("model.suite_version", version=report.run["suite_version"][:12]))
metrics[4].caption(VISIBILITY_LABELS[report.suite["visibility"]])
if cost := cost_line(overall["cost"]):
    st.caption(cost)

if report.missing_dimensions:
    st.caption(t("model.missing_dimensions", n=5 - len(report.missing_dimensions),
                 dimensions=", ".join(dimension_name(d) for d in report.missing_dimensions)))

# Only the open tab's content is computed and sent (tabs bound to the URL run lazily): drawing all five tabs — ten
# question cards with their tables, five charts — kept a browser busy for ~2.7 s before the scores showed
# (bench/bench_browser.py). A tab switch reruns the page with the new tab open.
# A shared link that filters the question browser (?qt=MedDG) opens on the Questions tab even without ?tab=.
QUESTION_PARAMS = ("qd", "qt", "qo", "qtag", "qp")
default_tab = "Questions" if any(key in st.query_params for key in QUESTION_PARAMS) else None
scores_tab, robustness_tab, errors_tab, questions_tab, repro_tab = st.tabs(TABS, key="tab", bind="query-params",
                                                                           default=default_tab)
with scores_tab:
    if scores_tab.open:
        sections.score_tables(report)
with robustness_tab:
    if robustness_tab.open:
        sections.robustness(report)
with errors_tab:
    if errors_tab.open:
        sections.errors_and_advice(report)
with questions_tab:
    if questions_tab.open:
        sections.question_browser(report, version, organizer=organizer)
with repro_tab:
    if repro_tab.open:
        sections.reproducibility(report, organizer=organizer)
