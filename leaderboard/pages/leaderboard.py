"""The public ranking: one row per evaluated model, searchable and filterable, every view shareable as a URL.

All view state (search, filters, columns, sorting, view, CI display) lives in widgets bound to ``st.query_params``,
so copying the address bar shares exactly this view. Data comes only through leaderboard.cache.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from common.display import md_escape
from common.i18n import t, tn
from evaluator.benchmark.reference_lines import default_k
from evaluator.benchmark.suites.visibility import LABELS as VISIBILITY_LABELS
from leaderboard import cache, search, table_view
from leaderboard.columns import optional_columns
from leaderboard.runs import SuiteNotFound, suite_label
from leaderboard.url_state import warn_unknown
from evaluator.benchmark.protocols import OFFICIAL_PROTOCOL, PROTOCOLS
from leaderboard.labels import dimension_label, dimension_name, reference_help
from leaderboard.ranking import DIMENSIONS, SIZE_BUCKETS, UNKNOWN_SIZE
from submissions.views import queue_overview

MODEL_PAGE = "leaderboard/pages/model.py"
SIZE_OPTIONS = [label for label, _, _ in SIZE_BUCKETS] + [UNKNOWN_SIZE]
VIEWS = [table_view.OVERVIEW, *DIMENSIONS]


def view_label(view: str) -> str:
    """Short labels: they are also what the shared URL carries (``?view=Reasoning``)."""
    return "Overview" if view == table_view.OVERVIEW else dimension_label(view, short=True)


def active_filters(query: str, sizes: list[str], types: list[str], precisions: list[str], hide_flagged: bool,
                   view: str) -> list[str]:
    """The filters narrowing the table, in words of the page's language, for the summary line above it (empty:
    nothing filtered). The values (sizes, types, precisions, the query) are shown as chosen."""
    parts = [t("lb.filter_search", query=query.strip())] if query and query.strip() else []
    parts += [t(key, values=", ".join(values)) for key, values in (("lb.filter_size", sizes),
                                                                    ("lb.filter_type", types),
                                                                    ("lb.filter_precision", precisions)) if values]
    if hide_flagged:
        parts.append(t("lb.filter_flagged_hidden"))
    if view != table_view.OVERVIEW:
        parts.append(t("lb.filter_view", view=dimension_name(view, short=True)))
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
            st.warning(t("lb.suite_missing", reason=md_escape(exc)))
    suites = cache.ranked_suites(data_version)
    if len(suites) > 1:
        ids = [s["id"] for s in suites]
        active_id = next((s["id"] for s in suites if s["active"]), ids[0])
        current = wanted["id"] if wanted and wanted["id"] in ids else active_id
        labels = {s["id"]: s["label"] + (t("lb.suite_active") if s["active"] else "")
                  + f" · {tn('lb.suite_models', s['n_models'])}" for s in suites}
        pick = st.selectbox(t("lb.suite_version"), ids, index=ids.index(current), format_func=labels.get,
                            key="suite_pick", help=t("lb.suite_version_help"))
        if pick != current:
            if pick == active_id:
                del st.query_params["suite"]
            else:
                st.query_params["suite"] = next(s["label"] for s in suites if s["id"] == pick)
            st.rerun()
    if wanted is None or wanted["active"]:
        return None
    return int(wanted["id"])


st.title(t("lb.title"))
st.caption(t("app.research_notice"))

version = cache.version()
suite_id = chosen_suite(version)  # None: the active suite
suite = cache.suite_facts(version, suite_id)
warn_unknown("protocol", list(PROTOCOLS))
protocol = st.selectbox(t("protocol.label"), PROTOCOLS, key="protocol",
                        bind="query-params", help=t("protocol.help"))
frame = cache.leaderboard_frame(version, protocol, suite_id)
if suite is not None and frame.empty and protocol != OFFICIAL_PROTOCOL:
    st.info(t("lb.no_protocol_runs", protocol=protocol, official=OFFICIAL_PROTOCOL))
    st.stop()
if suite is None or frame.empty:
    queue = queue_overview()
    no_suite = t("lb.no_suite") if suite is None else ""
    if queue.running or queue.waiting:
        st.info(tn("lb.no_results_running", len(queue.running), no_suite=no_suite, waiting=len(queue.waiting)))
    else:
        st.info(t("lb.no_results", no_suite=no_suite))
    st.stop()

n_unscored = int((frame["n_items"] - frame["n_scored"]).max() or 0)
if not suite.get("active", True):
    st.info(t("lb.earlier_suite", suite=md_escape(suite_label(suite["name"], suite["version"]))),
            icon=":material/history:")
st.markdown(t("lb.header", suite=md_escape(suite["name"]), visibility=VISIBILITY_LABELS[suite["visibility"]],
              version=suite["version"][:12], items=suite["item_count"], models=tn("lb.suite_models", len(frame)),
              protocol=protocol,
              official=t("lb.header_official" if protocol == OFFICIAL_PROTOCOL else "lb.header_fast"),
              rank_rule=t("col.rank.help"))
            + (tn("lb.unscored", n_unscored) if n_unscored else ""))

n_demo = int(frame["demo"].sum())
if n_demo:
    st.info(tn("lb.demo", n_demo), icon=":material/science:")

for key, allowed in (("size", SIZE_OPTIONS), ("view", [view_label(v) for v in VIEWS]),
                     ("cols", list(optional_columns()))):
    warn_unknown(key, allowed)

top = st.columns([3, 2])
query_text = top[0].text_input(t("lb.search"), key="q", bind="query-params", help=search.HELP,
                               placeholder="name words, license:apache type:chat precision:bf16 size:<10 "
                                           "flagged:no demo:no")
view = top[1].selectbox(t("lb.view"), VIEWS, format_func=view_label, key="view", bind="query-params")
with st.expander(t("lb.filters"), expanded=False):
    row = st.columns(4)
    sizes = row[0].multiselect(t("lb.size"), SIZE_OPTIONS, key="size", bind="query-params")
    types = row[1].multiselect(t("lb.type"), sorted(frame["type"].dropna().unique()), key="type", bind="query-params")
    precisions = row[2].multiselect(t("lb.precision"), sorted(frame["precision"].dropna().unique()), key="precision",
                                    bind="query-params")
    hide_flagged = row[3].toggle(t("lb.hide_flagged"), key="hide_flagged", bind="query-params")
    show_ci = row[3].toggle(t("lb.show_ci"), key="ci", bind="query-params")
    columns = st.multiselect(t("lb.columns"), list(optional_columns()),
                             default=[label for label, column in optional_columns().items() if column.visible],
                             key="cols", bind="query-params", disabled=view != table_view.OVERVIEW,
                             help=t("lb.columns_help"))
    sort_choices = table_view.sort_options(view)
    sort_row = st.columns([3, 1])
    sort_label = sort_row[0].selectbox(t("lb.sort_by"), list(sort_choices),
                                       key="sort" if view == table_view.OVERVIEW else f"sort_{view}",
                                     bind="query-params")
    ascending = sort_row[1].toggle(t("lb.ascending"), key="asc", bind="query-params")

if active := active_filters(query_text, sizes, types, precisions, hide_flagged, view):
    st.caption(t("lb.active_filters") + " · ".join(map(md_escape, active)))  # a shared link's view says what it hides

try:
    shown = search.apply_search(frame, search.parse_query(query_text))
except search.QueryError as exc:
    st.error(t("lb.search_not_applied", reason=md_escape(exc)))
    shown = frame
shown = search.apply_filters(shown, sizes=sizes, types=types, precisions=precisions, hide_flagged=hide_flagged)
if view != table_view.OVERVIEW:
    shown = table_view.with_tasks(shown, cache.task_frame(version, view, protocol, suite_id))
shown = table_view.sort_frame(shown, sort_choices[sort_label], ascending)

table = table_view.view_table(shown, view, columns, "score_ci" if show_ci else "score")

st.caption(t("lb.showing", shown=len(table), total=len(frame)))
if table.empty:
    st.info(t("lb.no_match"))
    st.stop()

linked = table.copy()
linked.insert(2, "Open", [f"model?model={model_id}" for model_id in shown["model_id"]])
scores = table_view.score_labels(view)  # with CIs, wide enough for "0.081 [0.075, 0.087]"
ci_hint = t("lb.ci_hint") if not show_ci else t("lb.ci_shown")
headers = table_view.headers(view)  # column id -> (title, help) in the page's language
reference = cache.reference_lines(int(suite["id"]), default_k())
column_config = {}
for name in linked.columns:
    if name not in headers:
        continue
    title, help_text = headers[name]
    if name in reference:
        help_text = f"{help_text} {reference_help(reference[name])}".strip()
    if name in scores and help_text:
        help_text += ci_hint
    column_config[name] = st.column_config.Column(title, help=help_text or None,
                                                  width="medium" if show_ci and name in scores else None)
# one click on a row's box or on any cell (the model's name, "details ›") opens the model page in this tab
event = st.dataframe(
    linked, hide_index=True, key="ranking", on_select="rerun", selection_mode=["single-row", "single-cell"],
    column_config={**column_config,
                   "Open": st.column_config.LinkColumn(t("col.open.title"), display_text=t("col.open.link"),
                                                       help=t("col.open.help"))},
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


export[0].download_button(t("lb.export_csv"), lambda: table_view.to_csv(numeric()), f"medbench-leaderboard-{protocol}-{stamp}.csv",
                          "text/csv", key="export_csv", help=t("lb.export_help"))
export[1].download_button(t("lb.export_json"), lambda: table_view.to_json(numeric()), f"medbench-leaderboard-{protocol}-{stamp}.json",
                          "application/json", key="export_json")
