"""The public ranking: one row per evaluated model, searchable and filterable, every view shareable as a URL.

All view state (search, filters, columns, sorting, view, CI display) lives in widgets bound to ``st.query_params``,
so copying the address bar shares exactly this view. Data comes only through leaderboard.cache.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape
from evaluator.suites.visibility import LABELS as VISIBILITY_LABELS
from leaderboard import cache, search, table_view
from leaderboard.url_state import warn_unknown
from leaderboard.labels import RESEARCH_NOTICE, ROBUSTNESS_HELP, dimension_label, plural
from leaderboard.ranking import DIMENSIONS, RANK_RULE, SIZE_BUCKETS, UNKNOWN_SIZE
from submissions.views import queue_overview

MODEL_PAGE = "leaderboard/pages/model.py"
SIZE_OPTIONS = [label for label, _, _ in SIZE_BUCKETS] + [UNKNOWN_SIZE]
VIEWS = [table_view.OVERVIEW, *DIMENSIONS]


def view_label(view: str) -> str:
    """Short labels: they are also what the shared URL carries (``?view=Reasoning``)."""
    return "Overview" if view == table_view.OVERVIEW else dimension_label(view, short=True)


st.title("MedBench Leaderboard · 中文医疗大模型评测榜")
st.caption(RESEARCH_NOTICE)

version = cache.version()
suite = cache.suite_facts(version)
frame = cache.leaderboard_frame(version)
if suite is None or frame.empty:
    queue = queue_overview()
    no_suite = "No benchmark suite is active. " if suite is None else ""
    if queue.running or queue.waiting:
        st.info(f"No results yet. {no_suite}{plural(len(queue.running), 'evaluation')} running and "
                f"{len(queue.waiting)} waiting: the Queue page shows their progress and time left. Models appear here "
                "as soon as their evaluation finishes.")
    else:
        st.info(f"No results yet. {no_suite}Models appear here as soon as their evaluation finishes: submit one on "
                "the Submit page, or watch the Queue page for runs in progress.")
    st.stop()

n_unscored = int((frame["n_items"] - frame["n_scored"]).max() or 0)
st.markdown(f"Ranked on suite **{md_escape(suite['name'])}**, a **{VISIBILITY_LABELS[suite['visibility']]}** "
            f"(version `{suite['version'][:12]}`, {suite['item_count']} items): "
            f"**{plural(len(frame), 'model')}**, each by its latest finished run. "
            "Overall = mean of the five dimension scores; "
            "every score carries a 95% bootstrap interval (toggle *Show 95% CI*); *n* = scored items. "
            f"{RANK_RULE}"
            + (f" {plural(n_unscored, 'item')} without a reference answer "
               f"{'is' if n_unscored == 1 else 'are'} unscored." if n_unscored else ""))

n_demo = int(frame["demo"].sum())
if n_demo:
    st.info(f"{n_demo} of these models {'is a demo model' if n_demo == 1 else 'are demo models'} (marked in *Flags*): "
            "tiny local models that show how the site works; their scores mean nothing medically. "
            "Search `demo:no` to hide them.", icon=":material/science:")

for key, allowed in (("size", SIZE_OPTIONS), ("view", [view_label(v) for v in VIEWS]),
                     ("cols", list(table_view.OPTIONAL_COLUMNS))):
    warn_unknown(key, allowed)

top = st.columns([3, 2])
query_text = top[0].text_input("Search", key="q", bind="query-params", help=search.HELP,
                               placeholder="name words, license:apache type:chat precision:bf16 size:<10 "
                                           "flagged:no demo:no")
view = top[1].selectbox("View", VIEWS, format_func=view_label, key="view", bind="query-params")
with st.expander("Filters, columns and sorting", expanded=False):
    row = st.columns(4)
    sizes = row[0].multiselect("Size", SIZE_OPTIONS, key="size", bind="query-params")
    types = row[1].multiselect("Type", sorted(frame["type"].dropna().unique()), key="type", bind="query-params")
    precisions = row[2].multiselect("Precision", sorted(frame["precision"].dropna().unique()), key="precision",
                                    bind="query-params")
    hide_flagged = row[3].toggle("Hide flagged models", key="hide_flagged", bind="query-params")
    show_ci = row[3].toggle("Show 95% CI", key="ci", bind="query-params")
    columns = st.multiselect("Columns", list(table_view.OPTIONAL_COLUMNS), default=list(table_view.OPTIONAL_COLUMNS),
                             key="cols", bind="query-params", disabled=view != table_view.OVERVIEW,
                             help="Used by the overview; a dimension view shows that dimension's tasks.")
    sort_choices = table_view.sort_options(view)
    sort_row = st.columns([3, 1])
    sort_label = sort_row[0].selectbox("Sort by", list(sort_choices),
                                       key="sort" if view == table_view.OVERVIEW else f"sort_{view}",
                                     bind="query-params")
    ascending = sort_row[1].toggle("Ascending", key="asc", bind="query-params")

try:
    shown = search.apply_search(frame, search.parse_query(query_text))
except search.QueryError as exc:
    st.error(f"{md_escape(exc)} The table below is not filtered by the search.")
    shown = frame
shown = search.apply_filters(shown, sizes=sizes, types=types, precisions=precisions, hide_flagged=hide_flagged)
if view != table_view.OVERVIEW:
    shown = table_view.with_tasks(shown, cache.task_frame(version, view))
shown = table_view.sort_frame(shown, sort_choices[sort_label], ascending)

table = table_view.view_table(shown, view, columns, "score_ci" if show_ci else "score")

st.caption(f"Showing {len(table)} of {len(frame)} models.")
if table.empty:
    st.info("No model matches this search and these filters. Clear the search or widen the filters.")
    st.stop()

linked = table.copy()
linked.insert(2, "Open", [f"model?model={model_id}" for model_id in shown["model_id"]])
ci_hint = " Hover shows this note; toggle *Show 95% CI* for the intervals." if not show_ci else " [95% CI]."
column_help = {
    "Overall": "Mean of the five dimension scores." + ci_hint,
    **{dimension_label(d, short=True): f"{dimension_label(d)}: mean of its task scores." + ci_hint
       for d in DIMENSIONS},
    table_view.robustness_label(view): ROBUSTNESS_HELP,
    "n": "Scored items (questions with a reference answer).",
    "#": RANK_RULE,
}
scores = table_view.score_labels(view)  # with CIs, wide enough for "0.081 [0.075, 0.087]"
event = st.dataframe(
    linked, hide_index=True, key="ranking", on_select="rerun", selection_mode="single-row",
    column_config={"Open": st.column_config.LinkColumn("Open", display_text="details ›",
                                                       help="Open the model page (or click a row)"),
                   **{name: st.column_config.Column(help=column_help.get(name),
                                                    width="medium" if show_ci and name in scores else None)
                      for name in linked.columns if name in column_help or name in scores}},
)
selected = event.selection.rows if event is not None and hasattr(event, "selection") else []
if selected:
    st.switch_page(MODEL_PAGE, query_params={"model": str(int(shown["model_id"].iloc[selected[0]]))})

stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d")
export = st.columns(4)
# exports hold numbers (score, ci_low, ci_high), whatever the CI toggle; built on click, not on every rerun
def numeric() -> pd.DataFrame:
    return table_view.view_table(shown, view, columns, "numeric")


export[0].download_button("Export CSV", lambda: table_view.to_csv(numeric()), f"medbench-leaderboard-{stamp}.csv",
                          "text/csv", key="export_csv", help="Scores as numbers, each with its ci_low and ci_high columns.")
export[1].download_button("Export JSON", lambda: table_view.to_json(numeric()), f"medbench-leaderboard-{stamp}.json",
                          "application/json", key="export_json")
