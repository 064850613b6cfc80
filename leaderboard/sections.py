"""Streamlit sections shared by the model and compare pages: each renders one part of a report.

Why here and not in the page files: the compare page shows the same question cards and score tables as the
model page, and pages should stay short scripts that wire sections together.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from common.display import mark_undecodable, md_escape
from evaluator.benchmark.tasks import TASKS
from evaluator.item_access import PrivateItems, RowData
from leaderboard import advice, cache, charts
from leaderboard.item_browser import OUTCOMES, ItemFilter, ItemView, tag_text
from common.i18n import t, table_headers, task_name, th, tn
from leaderboard.labels import (CATEGORIES, ROBUSTNESS, SOURCE_LABELS, arxiv_link, dimension_label,
                                dimension_name, fmt_score, is_missing, params_label, score_with_ci)
from leaderboard.model_facts import fact_line, fact_link
from leaderboard.model_report import ModelReport, format_when, public_run_facts, reproducibility_note
from leaderboard.ranking import DIMENSIONS
from leaderboard.runs import suite_label
from leaderboard.url_state import warn_unknown

VERDICT_MARK = {"right": "✓", "wrong": "✗", "unscored": "○"}
VERDICT_WORDS = {"right": "card.right", "wrong": "card.wrong", "unscored": "card.unscored_verdict"}
ALL = "all"


def header(report: ModelReport) -> None:
    """Name, demo / flag notices and the listing facts."""
    model = report.model
    st.title(md_escape(model["hub_id"]))
    if model["demo"]:
        st.info(t("card.demo"), icon=":material/science:")
    if model["flag"]:
        st.warning(t("card.flagged", reason=md_escape(model['flag'])), icon=":material/flag:")
    served = model.get("source") == "api"
    if served:
        st.warning(t("card.served", served=md_escape(model['served_model'] or '?'),
                     added=md_escape(model['served_added'] or '?')), icon=":material/cloud:")
    facts = [t("card.fact_source", value=md_escape(SOURCE_LABELS.get(model.get('source') or 'hf', '?'))),
             t("card.fact_type", value=md_escape(model['type'])),
             t("card.fact_precision", value=md_escape(model['precision'])),
             t("card.fact_params", value=params_label(model['params'])),
             t("card.fact_license", value=md_escape(model['license'])),
             t("card.not_pinned") if served else t("card.fact_revision", value=md_escape(model['commit_sha'][:12]))]
    # the card URL is built from the hub id percent-encoded (model_report.model_facts): no ")" can end it early
    st.markdown(" · ".join(facts) + (f" · [{t('card.model_card')}]({model['url']})" if model["url"] else ""))
    card_facts = model.get("facts") or {}
    if line := fact_line(card_facts):
        st.markdown(line)
    if link := fact_link(card_facts):  # an https URL from the card: a button, never Markdown from the card
        st.link_button(t("card.paper"), link, icon=":material/open_in_new:")


def score_tables(report: ModelReport) -> None:
    """Radar of the five dimensions, the dimension table and the per-task table, every score with CI and n."""
    dims = report.dimensions
    scores = {d: dims.set_index("dimension").loc[d, "score"] for d in DIMENSIONS}
    left, right = st.columns([2, 3])
    left.plotly_chart(charts.radar({report.model["hub_id"]: scores}), key="radar")
    dim_table = pd.DataFrame({
        "Dimension": [dimension_name(d) for d in dims["dimension"]],
        "Score [95% CI]": [score_with_ci(s, lo, hi) for s, lo, hi in zip(dims["score"], dims["ci_low"],
                                                                          dims["ci_high"])],
        "n (scored)": [int(report.tasks.loc[report.tasks["dimension"] == d, "n_scored"].sum()) if d != "overall"
                       else report.scored_items for d in dims["dimension"]],
    })
    right.dataframe(dim_table, hide_index=True, column_config=table_headers(dim_table.columns))
    if report.unscored_items:
        right.caption(tn("card.unscored", report.unscored_items))
    st.subheader(t("model.h_tasks"))
    lines = report_reference_lines(report)
    tasks = task_table(report.tasks, lines)
    st.dataframe(tasks, hide_index=True, height="content", width="stretch",
                 column_config=table_headers(tasks.columns, {"Score [95% CI]": st.column_config.Column(
                     help=t("card.yes_no_note")), REFERENCE: st.column_config.Column(help=t("card.reference_help"))}))
    if report.position_only_tasks:
        st.caption(f"{', '.join(report.position_only_tasks)}: {t('card.yes_no_note')}")
    st.plotly_chart(charts.task_scores(report.tasks, lines), key="task_scores")
    st.caption(t("card.marks", help=t("card.reference_help")))
    score_history(report)


def history_table(history: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, evaluator version) of a model's history: suite version, evaluator version, whether the
    scores are current or were replaced by a re-scoring, when the run finished, overall and dimension scores,
    and the link to that suite version's leaderboard."""
    return pd.DataFrame([{
        "Suite version": suite_label(h["suite"], h["suite_version"]),
        "Evaluator": h["evaluator_version"],
        "Scores": t("card.current") if h["current"] else t("card.before_rescoring"),
        "Run": h["run_id"], "Finished": format_when(h["finished_at"]),
        "Overall [95% CI]": score_with_ci(*(h["scores"].get("overall", {}).get(k) for k in ("score", "ci_low",
                                                                                        "ci_high"))),
        **{dimension_name(d, short=True): fmt_score(h["scores"].get(d, {}).get("score")) for d in DIMENSIONS},
        "Leaderboard": f"/?suite={quote(suite_label(h['suite'], h['suite_version']))}",
    } for h in history])


def score_history(report: ModelReport) -> None:
    """The model's scores across suite versions and evaluator versions, newest first (shown when there is more
    than the current run), each with a link to the leaderboard of its suite version."""
    history = cache.history(cache.version(), int(report.model["id"]))
    if len(history) < 2:
        return
    st.subheader(t("model.h_history"))
    st.caption(t("card.history_note"))
    table = history_table(history)
    st.dataframe(table, hide_index=True, key="history", column_config=table_headers(table.columns, {
        "Leaderboard": st.column_config.LinkColumn(display_text=t("card.ranking_link"))}))


REFERENCE = "Chance · pass line"  # the task table's column id; its header and help are translated


def report_reference_lines(report: ModelReport) -> dict[str, Any]:
    """The reference lines of the report's suite at the K its run used."""
    from evaluator.benchmark.reference_lines import default_k

    if report.suite is None or report.run is None:
        return {}
    return cache.reference_lines(int(report.suite["id"]), int(report.run["run_spec"].get("k") or default_k()))


def reference_text(line: Any) -> str:
    """'chance 0.200 · pass 0.600', 'chance 0.500', or '—' for a task with neither."""
    if line is None:
        return "—"
    parts = ([t("card.chance", value=fmt_score(line.chance))] if line.chance is not None else []) + (
        [t("card.pass", value=fmt_score(line.pass_line))] if line.pass_line is not None else [])
    return " · ".join(parts) or "—"


def task_table(tasks: pd.DataFrame, lines: dict[str, Any] | None = None) -> pd.DataFrame:
    def secondary(row: pd.Series) -> str:
        parts = [f"{name} {fmt_score(row[col])}" for col, name in (
            ("accuracy", "acc"), ("strict_accuracy", "strict"), ("robustness", "robustness"), ("jaccard", "Jaccard"),
            ("rouge_l", "ROUGE-L"), ("judge_recall", "judge recall")) if not is_missing(row[col])]
        return ", ".join(parts)

    return pd.DataFrame({
        "Task": tasks["task"], t("method.col_name"): [task_name(name) for name in tasks["task"]],
        "Dimension": [dimension_name(d, short=True) for d in tasks["dimension"]],
        "Metric": tasks["metric"],
        "Score [95% CI]": [score_with_ci(s, lo, hi) for s, lo, hi in zip(tasks["score"], tasks["ci_low"],
                                                                          tasks["ci_high"])],
        "n scored / items": [f"{s} / {n}" for s, n in zip(tasks["n_scored"], tasks["n_items"])],
        REFERENCE: [reference_text((lines or {}).get(t)) for t in tasks["task"]],
        "Secondary": [secondary(row) for _, row in tasks.iterrows()],
    })


def choice_scope(key: str) -> str:
    """What a row of choice figures covers: a dimension's label, or all choice questions for the "overall" row
    (whose accuracy is not the Overall score, the mean of the five dimension scores)."""
    return t("card.all_choice_questions") if key == "overall" else dimension_name(key)


def robustness(report: ModelReport, key: str = "bias_dimension") -> None:
    """Accuracy vs strict accuracy vs consistency per dimension, and the position-bias chart."""
    st.markdown(t("card.robustness_intro"))
    dims = report.dimensions
    choice = dims.dropna(subset=["accuracy"])
    if choice.empty:
        st.info(t("card.no_choice"))
        return
    st.plotly_chart(charts.robustness(dims), key="robustness_chart")
    figures = pd.DataFrame({
        "Dimension": [choice_scope(d) for d in choice["dimension"]],
        "Accuracy": choice["accuracy"].map(fmt_score), "Strict accuracy": choice["strict_accuracy"].map(fmt_score),
        ROBUSTNESS: choice["robustness"].map(fmt_score)})
    st.dataframe(figures, hide_index=True, column_config=table_headers(figures.columns, {
        ROBUSTNESS: st.column_config.Column(help=t("col.robustness.help"))}))
    options = [d for d in choice["dimension"]]
    chosen = st.selectbox(t("card.position_bias_of"), options, format_func=choice_scope, key=key)
    bias = dims.set_index("dimension").loc[chosen, "position_bias"] or {}
    if bias:
        st.plotly_chart(charts.position_bias(bias), key=f"{key}_chart")
        st.caption(t("card.position_bias_note"))
    else:
        st.caption(t("card.no_position_bias"))


def errors_and_advice(report: ModelReport) -> None:
    """Error-taxonomy distribution per dimension (counts and shares) and the four-level advice it implies."""
    dims = report.dimensions
    per_dim = dims[dims["dimension"] != "overall"]
    total = int(sum(sum((c or {}).values()) for c in per_dim["error_counts"]))
    if total == 0:
        st.info(t("card.no_tagged"))
    else:
        shares = st.toggle(t("card.show_shares"), key="error_shares")
        st.plotly_chart(charts.error_distribution(dims, shares=shares), key="errors_chart")
        # categories down, dimensions across: ten columns of category names were cut at the page's width
        table = pd.DataFrame({"Category": [*CATEGORIES, t("card.wrong_tagged")], **{
            dimension_name(row["dimension"], short=True): [int((row["error_counts"] or {}).get(c, 0))
                                                            for c in CATEGORIES]
            + [int(sum((row["error_counts"] or {}).values()))] for _, row in per_dim.iterrows()}})
        st.dataframe(table, hide_index=True, height="content", width="stretch",
                     column_config=table_headers(table.columns))
        st.caption(t("card.tags_note"))
    st.subheader(t("model.h_advice", paper=arxiv_link("2503.07306")))
    found = advice.advise(dims.to_dict("records"))
    if not found:
        st.success(t("card.no_signature"))
    for item in found:
        levels = " + ".join(advice.LEVELS[level] for level in item.levels)
        st.markdown(f"**{levels}**  \n{t('card.signature')} {item.signature} — {t('card.here')} **{item.figure}**.  \n{item.action}")
    st.caption(t("card.level4"))


def question_browser(report: ModelReport, version: str, *, organizer: bool = False) -> None:
    """Filter the run's questions by dimension, task, outcome and tag; page through them (indexed queries). On a
    private suite visitors get one line instead (the gate, evaluator.item_access, refuses the rows)."""
    run_id = report.run["id"]
    try:
        counts = cache.tag_counts(version, run_id, organizer)
    except PrivateItems as exc:
        st.info(md_escape(exc), icon=":material/lock:")
        return
    details_download(report, organizer=organizer)
    dimension_labels = {d: dimension_label(d, short=True) for d in DIMENSIONS}
    for key, allowed in (("qd", list(dimension_labels.values())), ("qt", list(TASKS)), ("qo", list(OUTCOMES)),
                         ("qtag", list(CATEGORIES))):
        warn_unknown(key, [ALL, *allowed])
    cols = st.columns(4)
    dimension = cols[0].selectbox(th("Dimension"), [ALL, *DIMENSIONS], key="qd", bind="query-params",
                                  format_func=lambda d: dimension_labels.get(d, ALL))
    tasks = [t for t, spec in TASKS.items() if dimension == ALL or spec.dimension == dimension]
    task = cols[1].selectbox(th("Task"), [ALL, *tasks], key="qt", bind="query-params")
    outcome = cols[2].selectbox(t("card.outcome"), list(OUTCOMES), key="qo", bind="query-params",
                                help=t("card.outcome_help"))
    tag = cols[3].selectbox(t("card.error_tag"), [ALL, *CATEGORIES], key="qtag", bind="query-params")
    if counts:
        st.caption(t("card.tagged_in_run") + " · ".join(f"{c} {counts[c]}" for c in CATEGORIES if c in counts))
    flt = ItemFilter(None if dimension == ALL else dimension, None if task == ALL else task, outcome,
                     None if tag == ALL else tag)
    page_size = 10
    first = cache.item_page(version, run_id, flt, 1, page_size, organizer)
    if first.total == 0:
        st.info(t("card.no_question"))
        return
    page = st.pagination(first.pages, key="qp", bind="query-params") if first.pages > 1 else 1
    result = first if page == 1 else cache.item_page(version, run_id, flt, min(page, first.pages), page_size,
                                                     organizer)
    st.caption(t("card.questions_page", total=result.total, page=result.page, pages=result.pages))
    for item in result.items:
        with st.expander(f"{VERDICT_MARK[item.verdict]} {md_escape(item.item_key)} · {item.task} · "
                         f"{t(VERDICT_WORDS[item.verdict])} · "
                         f"{md_escape(item.preview)}"):
            question_card(item)


def _fields(record: dict[str, Any]) -> str:
    """A record or extraction tuple as 'field: value; field: value' (JSON only for nested values)."""
    return "; ".join(f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
                     for key, value in record.items())


def details_download(report: ModelReport, *, organizer: bool = False) -> None:
    """The per-model details file (every question × option order with prompt, output, extracted answer, verdict
    and tags), built on click; reached only past the gate, so never for a private suite's visitors."""
    run_id = report.run["id"]
    name = report.model["hub_id"].replace("/", "__")
    st.download_button(t("card.details_download"), lambda: cache.details_jsonl(run_id, organizer),
                       f"medbench-details-{name}-run{run_id}.jsonl", "application/x-ndjson", key="details_jsonl",
                       help=t("card.details_help"))


def _answer_text(item: ItemView, answer: Any) -> str:
    """An answer as a reader reads it: letters with their option text, a record's fields, extraction tuples one
    after another; an answer in which nothing was read says so (not a bare {} or [])."""
    if answer is None:
        return "—"
    if answer in ({}, []):
        return t("card.nothing_read")
    if isinstance(answer, list) and all(isinstance(a, str) for a in answer):
        return ", ".join(f"{a}. {item.options[a]}" if a in item.options else a for a in answer)
    if isinstance(answer, dict):
        return _fields(answer)
    if isinstance(answer, list) and all(isinstance(a, dict) for a in answer):
        return " | ".join(_fields(a) for a in answer)
    return json.dumps(answer, ensure_ascii=False) if not isinstance(answer, str) else answer


def structured_answer(answer: Any) -> pd.DataFrame | None:
    """An extraction answer (a list of tuples as dicts) or a record (field -> text) as a small table; None for
    answers that read well as text (letters, strings)."""
    if isinstance(answer, list) and answer and all(isinstance(a, dict) for a in answer):
        return pd.DataFrame(answer).fillna("")
    if isinstance(answer, dict) and answer:
        return pd.DataFrame({"Field": list(answer), "Value": [str(v) for v in answer.values()]})
    return None


def question_card(item: ItemView, show_orders: bool = True) -> None:
    """One question: passage, stem, options, gold answer, and (``show_orders``) every option order's answer,
    tag and exact prompt."""
    if item.passage:
        st.markdown(f"**{t('card.passage')}** {md_escape(item.passage)}")
    st.markdown(f"**{t('card.question')}** {md_escape(item.question)}")
    if item.options:
        st.markdown("  \n".join(md_escape(f"{key}. {text}") for key, text in item.options.items()))
    if item.gold is None:
        st.markdown(f"**{t('card.reference_answer')}** {t('card.no_reference')}")
    elif (gold := structured_answer(item.gold)) is not None:
        st.markdown(f"**{t('card.reference_answer')}**")
        st.table(gold.rename(columns=md_escape).map(md_escape))  # st.table renders Markdown in every cell
    else:
        st.markdown(f"**{t('card.reference_answer')}** {md_escape(_answer_text(item, item.gold))}")
    if item.answer_points:
        st.markdown(f"**{t('card.answer_points')}** " + md_escape("; ".join(" / ".join(map(str, p)) for p in item.answer_points)))
    if not show_orders:
        return
    orders = orders_table(item)
    st.dataframe(orders, hide_index=True, column_config=table_headers(orders.columns))
    if item.orders:
        tabs = st.tabs([t("card.prompt_order", order=o.order_index) for o in item.orders])
        for tab, order in zip(tabs, item.orders):
            tab.code(order.prompt, language=None, wrap_lines=True)
            if order.letter_scores and not order.raw_output:
                tab.caption(t("card.letter_scored"))
            else:
                if order.reasoning is not None:
                    tab.caption(t("card.reasoning"))
                    tab.code(order.reasoning or t("card.empty"), language=None, wrap_lines=True)
                tab.caption(t("card.raw_output"))
                tab.code(mark_undecodable(order.raw_output) or t("card.empty"), language=None, wrap_lines=True)


def _position(item: ItemView, index: int) -> str:
    """The label of a shown position: a letter for lettered options, else 1, 2, ... (e.g. cloze candidates)."""
    return chr(ord("A") + index) if item.options and index < 26 else str(index + 1)


def orders_table(item: ItemView) -> pd.DataFrame:
    def verdict(order: RowData) -> str:
        return t("card.unscored_verdict") if order.correct is None else t("card.right") if order.correct else t(
            "card.wrong")

    return pd.DataFrame([{
        "Order": o.order_index,
        "Order shown (position → original)": ", ".join(f"{_position(item, i)}→{k}"
                                                       for i, k in enumerate(o.permutation))
        or "—",
        "Answer (original options)": _answer_text(item, o.parsed_answer),
        "Raw output": mark_undecodable(o.raw_output)[:200],
        "Verdict": verdict(o), "Score": fmt_score(o.score),
        "Error tag (how it was made)": tag_text(o),
        "Status": o.status if o.status == "ok" else f"{o.status}: {o.error_message}",
    } for o in item.orders])


def reproducibility(report: ModelReport, *, organizer: bool = False) -> None:
    """The run's reproducibility card: what fixed its numbers (run spec), how it ran (execution spec), and the
    command that re-runs it. Paths and host details of this server are for organizers only
    (``public_run_facts``)."""
    run, model = (report.run if organizer else public_run_facts(report.run)), report.model
    spec, execution = run["run_spec"], run["execution_spec"]
    reasoning = spec.get("reasoning") or {}
    served = model.get("source") == "api"
    card = {  # fact id (English) -> value; each fact is shown under its name in the page's language (th)
        "Model": model["hub_id"], "Source": SOURCE_LABELS.get(model.get("source") or "hf", "?"),
        "Revision (commit SHA)": (t("repro.served", not_pinned=t("card.not_pinned"),
                                    served=model.get("served_model"), added=model.get("served_added"))
                                  if served else spec.get("revision", model["commit_sha"])),
        "Reproducible": reproducibility_note(model.get("source")),
        "Answer protocol": run.get("protocol", spec.get("protocol")),
        "Reasoning model": (t("repro.reasoning_yes", source=reasoning.get("source"), budget=reasoning.get("budget"))
                            if reasoning.get("thinks") else t("repro.no")),
        "Chat-template arguments": reasoning.get("chat_template_kwargs") or t("repro.none"),
        "Suite": t("repro.suite", suite=run["suite_name"], version=run["suite_version"]),
        "Dtype": spec.get("dtype", model["precision"]),
        "Seed": spec.get("seed"), "Option orders (K)": spec.get("k"),
        "Prompt template version": spec.get("prompt_template_version"), "Backend": execution.get("backend"),
        "Chat template": spec.get("use_chat_template", model["use_chat_template"]),
        "Evaluator version": run["evaluator_version"],
        "Run": t("repro.run", id=run["id"], when=format_when(run["finished_at"])),
    }
    facts = pd.DataFrame({"Fact": [th(name) for name in card], "Value": [str(v) for v in card.values()]})
    st.dataframe(facts, hide_index=True, height="content", width="stretch",
                 column_config=table_headers(facts.columns, {"Fact": st.column_config.TextColumn(width="medium"),
                                                             "Value": st.column_config.TextColumn(width="large")}))
    st.markdown(f"**{t('repro.environment')}**")
    st.json(run["environment"], expanded=True)
    st.markdown(f"**{t('repro.run_spec')}**")
    st.json(spec, expanded=False)
    st.markdown(t("repro.execution_spec"))
    st.json(execution, expanded=False)
    st.markdown(f"**{t('repro.reproduce')}**")
    st.code(run["command"], language="bash", wrap_lines=True)
