"""The public ranking: one row per evaluated model, searchable and filterable, every view shareable as a URL.

All view state (search, filters, columns, sorting, view, CI display) lives in widgets bound to ``st.query_params``,
so copying the address bar shares exactly this view. Data comes only through leaderboard.cache.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape
from evaluator.benchmark.reference_lines import default_k
from evaluator.benchmark.suites.visibility import LABELS as VISIBILITY_LABELS
from leaderboard import cache, search, table_view
from leaderboard.columns import COLUMNS, optional_columns
from leaderboard.runs import SuiteNotFound, suite_label
from leaderboard.url_state import warn_unknown
from evaluator.benchmark.protocols import OFFICIAL_PROTOCOL, PROTOCOLS
from leaderboard.labels import (COST_HELP, PROTOCOL_HELP, RESEARCH_NOTICE, ROBUSTNESS_HELP, STRICT_HELP,
                                dimension_label, plural)
from leaderboard.ranking import DIMENSIONS, RANK_RULE, SIZE_BUCKETS, UNKNOWN_SIZE
from submissions.views import queue_overview

MODEL_PAGE = "leaderboard/pages/model.py"
SIZE_OPTIONS = [label for label, _, _ in SIZE_BUCKETS] + [UNKNOWN_SIZE]
VIEWS = [table_view.OVERVIEW, *DIMENSIONS]


def view_label(view: str) -> str:
    """Short labels: they are also what the shared URL carries (``?view=Reasoning``)."""
    return "Overview" if view == table_view.OVERVIEW else dimension_label(view, short=True)


def active_filters(query: str, sizes: list[str], types: list[str], precisions: list[str], hide_flagged: bool,
                   view: str) -> list[str]:
    """The filters narrowing the table, in words, for the summary line above it (empty: nothing filtered)."""
    parts = [f"search “{query.strip()}”"] if query and query.strip() else []
    parts += [f"{name} {', '.join(values)}" for name, values in (("size", sizes), ("type", types),
                                                                  ("precision", precisions)) if values]
    if hide_flagged:
        parts.append("flagged models hidden")
    if view != table_view.OVERVIEW:
        parts.append(f"view {view_label(view)}")
    return parts


def chosen_suite(data_version: str) -> int | None:
    """The suite version this view ranks on: ``?suite=<id or name@version>`` when it names an earlier one, else
    the active suite (None). A bad value is explained and ignored; with several ranked suite versions a selector
    lets the visitor pick one (written to the URL, so the view can be shared)."""
    wanted: dict | None = None
    if ref := st.query_params.get("suite", ""):
        try:
            wanted = cache.resolve_suite(ref)
        except SuiteNotFound as exc:
            st.warning(f"{md_escape(exc)} Showing the active suite.")
    suites = cache.ranked_suites(data_version)
    if len(suites) > 1:
        ids = [s["id"] for s in suites]
        active_id = next((s["id"] for s in suites if s["active"]), ids[0])
        current = wanted["id"] if wanted and wanted["id"] in ids else active_id
        labels = {s["id"]: s["label"] + (" (active)" if s["active"] else "") + f" · {plural(s['n_models'], 'model')}"
                  for s in suites}
        pick = st.selectbox("Suite version", ids, index=ids.index(current), format_func=labels.get,
                            key="suite_pick",
                            help="Rankings of earlier suite versions, to trace how a ranking changed.")
        if pick != current:
            if pick == active_id:
                del st.query_params["suite"]
            else:
                st.query_params["suite"] = next(s["label"] for s in suites if s["id"] == pick)
            st.rerun()
    if wanted is None or wanted["active"]:
        return None
    return int(wanted["id"])


st.title("MedBench Leaderboard · 中文医疗大模型评测榜")
st.caption(RESEARCH_NOTICE)

version = cache.version()
suite_id = chosen_suite(version)  # None: the active suite
suite = cache.suite_facts(version, suite_id)
warn_unknown("protocol", list(PROTOCOLS))
protocol = st.selectbox("Answer protocol", PROTOCOLS, key="protocol",
                        bind="query-params", help=PROTOCOL_HELP)
frame = cache.leaderboard_frame(version, protocol, suite_id)
if suite is not None and frame.empty and protocol != OFFICIAL_PROTOCOL:
    st.info(f"No model has a finished run under the {protocol} protocol yet. The official ranking uses "
            f"{OFFICIAL_PROTOCOL}: choose it above.")
    st.stop()
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
if not suite.get("active", True):
    st.info(f"An earlier suite version: **{md_escape(suite_label(suite['name'], suite['version']))}**, not the "
            "active one. Remove `suite` from the URL (or pick the active version) for the current ranking.",
            icon=":material/history:")
st.markdown(f"Ranked on suite **{md_escape(suite['name'])}**, a **{VISIBILITY_LABELS[suite['visibility']]}** "
            f"(version `{suite['version'][:12]}`, "
            f"{suite['item_count']} items): "
            f"**{plural(len(frame), 'model')}**, each by its latest finished run under the **{protocol}** protocol"
            f"{' (official)' if protocol == OFFICIAL_PROTOCOL else ' (fast, not the official ranking)'}. "
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
                     ("cols", list(optional_columns()))):
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
    columns = st.multiselect("Columns", list(optional_columns()),
                             default=[label for label, column in optional_columns().items() if column.visible],
                             key="cols", bind="query-params", disabled=view != table_view.OVERVIEW,
                             help="Used by the overview; a dimension view shows that dimension's tasks.")
    sort_choices = table_view.sort_options(view)
    sort_row = st.columns([3, 1])
    sort_label = sort_row[0].selectbox("Sort by", list(sort_choices),
                                       key="sort" if view == table_view.OVERVIEW else f"sort_{view}",
                                     bind="query-params")
    ascending = sort_row[1].toggle("Ascending", key="asc", bind="query-params")

if active := active_filters(query_text, sizes, types, precisions, hide_flagged, view):
    st.caption("Active filters: " + " · ".join(map(md_escape, active)))  # a shared link's view says what it hides

try:
    shown = search.apply_search(frame, search.parse_query(query_text))
except search.QueryError as exc:
    st.error(f"{md_escape(exc)} The table below is not filtered by the search.")
    shown = frame
shown = search.apply_filters(shown, sizes=sizes, types=types, precisions=precisions, hide_flagged=hide_flagged)
if view != table_view.OVERVIEW:
    shown = table_view.with_tasks(shown, cache.task_frame(version, view, protocol, suite_id))
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
    **{label: column.help + (ci_hint if column.format == "score" else "") for label, column in COLUMNS.items()
       if column.help},
    table_view.robustness_label(view): ROBUSTNESS_HELP,
    table_view.strict_label(view): STRICT_HELP,
    table_view.COST_LABEL: COST_HELP,
    **{task: line.help() for task, line in cache.reference_lines(int(suite["id"]), default_k()).items()},
}
scores = table_view.score_labels(view)  # with CIs, wide enough for "0.081 [0.075, 0.087]"
# one click on a row's box or on any cell (the model's name, "details ›") opens the model page in this tab
event = st.dataframe(
    linked, hide_index=True, key="ranking", on_select="rerun", selection_mode=["single-row", "single-cell"],
    column_config={"Open": st.column_config.LinkColumn("Open", display_text="details ›",
                                                       help="Open the model page (or click the model's row or name)"),
                   **{name: st.column_config.Column(help=column_help.get(name),
                                                    width="medium" if show_ci and name in scores else None)
                      for name in linked.columns if name in column_help or name in scores}},
)
clicked = table_view.clicked_row(event.selection if event is not None and hasattr(event, "selection") else None)
if clicked is not None and clicked < len(shown):
    st.switch_page(MODEL_PAGE, query_params={"model": str(int(shown["model_id"].iloc[clicked]))})

stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d")
export = st.columns(4)
# exports hold numbers (score, ci_low, ci_high), whatever the CI toggle; built on click, not on every rerun
def numeric() -> pd.DataFrame:  # exports name the protocol their scores were obtained under
    table = table_view.for_export(table_view.view_table(shown, view, columns, "numeric"), shown, suite["version"])
    table.insert(0, "Protocol", protocol)
    return table


export[0].download_button("Export CSV", lambda: table_view.to_csv(numeric()), f"medbench-leaderboard-{protocol}-{stamp}.csv",
                          "text/csv", key="export_csv", help="Scores as numbers, each with its ci_low and ci_high columns.")
export[1].download_button("Export JSON", lambda: table_view.to_json(numeric()), f"medbench-leaderboard-{protocol}-{stamp}.json",
                          "application/json", key="export_json")
