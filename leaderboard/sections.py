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
from common.i18n import t, task_name
from leaderboard.labels import (CATEGORIES, NOT_PINNED, ROBUSTNESS, SOURCE_LABELS, arxiv_link, dimension_label,
                                dimension_name, fmt_score, is_missing, params_label, plural, score_with_ci)
from leaderboard.model_facts import fact_line, fact_link
from leaderboard.model_report import ModelReport, format_when, public_run_facts, reproducibility_note
from leaderboard.ranking import DIMENSIONS
from leaderboard.runs import suite_label
from leaderboard.url_state import warn_unknown

YES_NO_NOTE = ("Yes/no tasks (DrugCA) ask every question under both option orders, so a model that always picks the "
               "same position is right under exactly one order of each question: it scores 0.500 [0.500, 0.500], "
               "chance level, whatever it knows.")
ALL_CHOICE_QUESTIONS = "All choice questions"  # the "overall" row of choice figures: not the Overall score
LETTER_SCORED = "Scored from the next-token probabilities of the option letters; no text was generated."
VERDICT_MARK = {"right": "✓", "wrong": "✗", "unscored": "○"}
ALL = "all"


def header(report: ModelReport) -> None:
    """Name, demo / flag notices and the listing facts."""
    model = report.model
    st.title(md_escape(model["hub_id"]))
    if model["demo"]:
        st.info("Demo model: a tiny local model that shows how the site works; its scores mean nothing medically.",
                icon=":material/science:")
    if model["flag"]:
        st.warning(f"Flagged by the organizers: {md_escape(model['flag'])}", icon=":material/flag:")
    served = model.get("source") == "api"
    if served:
        st.warning(f"{NOT_PINNED}: served as {md_escape(model['served_model'] or '?')}, added "
                   f"{md_escape(model['served_added'] or '?')}; the endpoint may change the model behind this name.",
                   icon=":material/cloud:")
    facts = [f"source **{md_escape(SOURCE_LABELS.get(model.get('source') or 'hf', '?'))}**",
             f"type **{md_escape(model['type'])}**", f"precision **{md_escape(model['precision'])}**",
             f"params **{params_label(model['params'])}**", f"license **{md_escape(model['license'])}**",
             NOT_PINNED if served else f"revision {md_escape(model['commit_sha'][:12])}"]
    # the card URL is built from the hub id percent-encoded (model_report.model_facts): no ")" can end it early
    st.markdown(" · ".join(facts) + (f" · [model card]({model['url']})" if model["url"] else ""))
    card_facts = model.get("facts") or {}
    if line := fact_line(card_facts):
        st.markdown(line)
    if link := fact_link(card_facts):  # an https URL from the card: a button, never Markdown from the card
        st.link_button("Paper / homepage", link, icon=":material/open_in_new:")


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
    right.dataframe(dim_table, hide_index=True)
    if report.unscored_items:
        right.caption(f"{plural(report.unscored_items, 'item')} without a reference answer "
                      f"{'is' if report.unscored_items == 1 else 'are'} unscored: run and browsable below, but "
                      "counted in no score.")
    st.subheader(t("model.h_tasks"))
    lines = report_reference_lines(report)
    st.dataframe(task_table(report.tasks, lines), hide_index=True, height="content", width="stretch",
                 column_config={"Score [95% CI]": st.column_config.Column(help=YES_NO_NOTE),
                                REFERENCE: st.column_config.Column(help=REFERENCE_HELP)})
    if report.position_only_tasks:
        st.caption(f"{', '.join(report.position_only_tasks)}: {YES_NO_NOTE}")
    st.plotly_chart(charts.task_scores(report.tasks, lines), key="task_scores")
    st.caption(f"Marks: {REFERENCE_HELP}")
    score_history(report)


def history_table(history: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, evaluator version) of a model's history: suite version, evaluator version, whether the
    scores are current or were replaced by a re-scoring, when the run finished, overall and dimension scores,
    and the link to that suite version's leaderboard."""
    return pd.DataFrame([{
        "Suite version": suite_label(h["suite"], h["suite_version"]),
        "Evaluator": h["evaluator_version"],
        "Scores": "current" if h["current"] else "before re-scoring",
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
    st.caption("Every finished run of this model on every suite version, and the scores a run had before it was "
               "re-scored by a newer evaluator version: follow a link to see that suite version's ranking.")
    st.dataframe(history_table(history), hide_index=True, key="history",
                 column_config={"Leaderboard": st.column_config.LinkColumn("Leaderboard", display_text="ranking ›")})


REFERENCE = "Chance · pass line"
REFERENCE_HELP = ("Chance: the expected score of a random guesser, from each question's option count and the K "
                  "option orders (single choice 1/n, yes/no 1/2, multi-choice exact set 1/(2^n − 1)); none for tasks "
                  "that are not a pick from listed options. Pass line: where a real exam defines one (Med-Exam: "
                  "国家执业医师资格考试, 360/600 = 0.600); other tasks have no defined pass line.")


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
    parts = ([f"chance {fmt_score(line.chance)}"] if line.chance is not None else []) + (
        [f"pass {fmt_score(line.pass_line)}"] if line.pass_line is not None else [])
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
    return ALL_CHOICE_QUESTIONS if key == "overall" else dimension_name(key)


def robustness(report: ModelReport, key: str = "bias_dimension") -> None:
    """Accuracy vs strict accuracy vs consistency per dimension, and the position-bias chart."""
    st.markdown("Every choice question is asked under K option orders. **Accuracy** averages over (question, order);"
                " **strict accuracy** counts questions right under every order; **robustness** (consistency under "
                "option shuffling) counts questions answered identically under every order, right or wrong, and a "
                "question without a readable answer under some order is never consistent. Read robustness beside "
                "strict accuracy: a model that is consistently wrong is robust.")
    dims = report.dimensions
    choice = dims.dropna(subset=["accuracy"])
    if choice.empty:
        st.info("This run has no scored choice questions, so there is no robustness to show.")
        return
    st.plotly_chart(charts.robustness(dims), key="robustness_chart")
    st.dataframe(pd.DataFrame({
        "Dimension": [choice_scope(d) for d in choice["dimension"]],
        "Accuracy": choice["accuracy"].map(fmt_score), "Strict accuracy": choice["strict_accuracy"].map(fmt_score),
        ROBUSTNESS: choice["robustness"].map(fmt_score)}), hide_index=True,
        column_config={ROBUSTNESS: st.column_config.Column(help=t("col.robustness.help"))})
    options = [d for d in choice["dimension"]]
    chosen = st.selectbox("Position bias of", options, format_func=choice_scope, key=key)
    bias = dims.set_index("dimension").loc[chosen, "position_bias"] or {}
    if bias:
        st.plotly_chart(charts.position_bias(bias), key=f"{key}_chart")
        st.caption("Each series sums to 100%: *chosen* is each shown letter's share of all letters the model chose, "
                   "*correct* its share of all right letters. Multi-answer questions (DDx) contribute several right "
                   "letters; answers with no letter contribute none.")
    else:
        st.caption("No position-bias figures were stored for this dimension.")


def errors_and_advice(report: ModelReport) -> None:
    """Error-taxonomy distribution per dimension (counts and shares) and the four-level advice it implies."""
    dims = report.dimensions
    per_dim = dims[dims["dimension"] != "overall"]
    total = int(sum(sum((c or {}).values()) for c in per_dim["error_counts"]))
    if total == 0:
        st.info("No tagged wrong answers in this run.")
    else:
        shares = st.toggle("Show shares instead of counts", key="error_shares")
        st.plotly_chart(charts.error_distribution(dims, shares=shares), key="errors_chart")
        # categories down, dimensions across: ten columns of category names were cut at the page's width
        table = pd.DataFrame({"Category": [*CATEGORIES, "wrong (tagged)"], **{
            dimension_name(row["dimension"], short=True): [int((row["error_counts"] or {}).get(c, 0))
                                                            for c in CATEGORIES]
            + [int(sum((row["error_counts"] or {}).values()))] for _, row in per_dim.iterrows()}})
        st.dataframe(table, hide_index=True, height="content", width="stretch")
        st.caption("Tags are made automatically (rules, or a judge model where named) — see Methodology for how "
                   "well they agree with human review.")
    st.subheader(t("model.h_advice", paper=arxiv_link("2503.07306")))
    found = advice.advise(dims.to_dict("records"))
    if not found:
        st.success("None of the paper's failure signatures is present in this run.")
    for item in found:
        levels = " + ".join(advice.LEVELS[level] for level in item.levels)
        st.markdown(f"**{levels}**  \nSignature: {item.signature} — here: **{item.figure}**.  \n{item.action}")
    st.caption("Level 4 (multimodal pre-training, causal reasoning modules, digital-twin simulation) is long-term "
               "research and is not triggered by a single figure.")


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
    dimension = cols[0].selectbox("Dimension", [ALL, *DIMENSIONS], key="qd", bind="query-params",
                                  format_func=lambda d: dimension_labels.get(d, ALL))
    tasks = [t for t, spec in TASKS.items() if dimension == ALL or spec.dimension == dimension]
    task = cols[1].selectbox("Task", [ALL, *tasks], key="qt", bind="query-params")
    outcome = cols[2].selectbox("Outcome", list(OUTCOMES), key="qo", bind="query-params",
                                help="right: right under every option order · wrong: wrong under at least one · "
                                     "unscored: no reference answer")
    tag = cols[3].selectbox("Error tag", [ALL, *CATEGORIES], key="qtag", bind="query-params")
    if counts:
        st.caption("Tagged answers in this run: " + " · ".join(f"{c} {counts[c]}" for c in CATEGORIES if c in counts))
    flt = ItemFilter(None if dimension == ALL else dimension, None if task == ALL else task, outcome,
                     None if tag == ALL else tag)
    page_size = 10
    first = cache.item_page(version, run_id, flt, 1, page_size, organizer)
    if first.total == 0:
        st.info("No question matches these filters.")
        return
    page = st.pagination(first.pages, key="qp", bind="query-params") if first.pages > 1 else 1
    result = first if page == 1 else cache.item_page(version, run_id, flt, min(page, first.pages), page_size,
                                                     organizer)
    st.caption(f"{result.total} questions match · page {result.page} of {result.pages}")
    for item in result.items:
        with st.expander(f"{VERDICT_MARK[item.verdict]} {md_escape(item.item_key)} · {item.task} · {item.verdict} · "
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
    st.download_button("Download details (JSONL)", lambda: cache.details_jsonl(run_id, organizer),
                       f"medbench-details-{name}-run{run_id}.jsonl", "application/x-ndjson", key="details_jsonl",
                       help="One JSON line per question and option order: prompt, raw output, extracted answer, "
                            "reference, verdict and error tags.")


def _answer_text(item: ItemView, answer: Any) -> str:
    """An answer as a reader reads it: letters with their option text, a record's fields, extraction tuples one
    after another; an answer in which nothing was read says so (not a bare {} or [])."""
    if answer is None:
        return "—"
    if answer in ({}, []):
        return "— (nothing read)"
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
        st.markdown(f"**Passage** {md_escape(item.passage)}")
    st.markdown(f"**Question** {md_escape(item.question)}")
    if item.options:
        st.markdown("  \n".join(md_escape(f"{key}. {text}") for key, text in item.options.items()))
    if item.gold is None:
        st.markdown("**Reference answer** none: this question is unscored.")
    elif (gold := structured_answer(item.gold)) is not None:
        st.markdown("**Reference answer**")
        st.table(gold.rename(columns=md_escape).map(md_escape))  # st.table renders Markdown in every cell
    else:
        st.markdown(f"**Reference answer** {md_escape(_answer_text(item, item.gold))}")
    if item.answer_points:
        st.markdown("**Answer points** " + md_escape("; ".join(" / ".join(map(str, p)) for p in item.answer_points)))
    if not show_orders:
        return
    st.dataframe(orders_table(item), hide_index=True)
    if item.orders:
        tabs = st.tabs([f"prompt, order {o.order_index}" for o in item.orders])
        for tab, order in zip(tabs, item.orders):
            tab.code(order.prompt, language=None, wrap_lines=True)
            if order.letter_scores and not order.raw_output:
                tab.caption(LETTER_SCORED)
            else:
                if order.reasoning is not None:
                    tab.caption("Reasoning (stored apart; the answer is read only from what follows it):")
                    tab.code(order.reasoning or "(empty)", language=None, wrap_lines=True)
                tab.caption("Raw output:")
                tab.code(mark_undecodable(order.raw_output) or "(empty)", language=None, wrap_lines=True)


def _position(item: ItemView, index: int) -> str:
    """The label of a shown position: a letter for lettered options, else 1, 2, ... (e.g. cloze candidates)."""
    return chr(ord("A") + index) if item.options and index < 26 else str(index + 1)


def orders_table(item: ItemView) -> pd.DataFrame:
    def verdict(order: RowData) -> str:
        return "unscored" if order.correct is None else ("right" if order.correct else "wrong")

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
    card = {
        "Model": model["hub_id"], "Source": SOURCE_LABELS.get(model.get("source") or "hf", "?"),
        "Revision (commit SHA)": (f"{NOT_PINNED} (served as {model.get('served_model')}, added "
                                  f"{model.get('served_added')})" if model.get("source") == "api"
                                  else spec.get("revision", model["commit_sha"])),
        "Reproducible": reproducibility_note(model.get("source")),
        "Answer protocol": run.get("protocol", spec.get("protocol")),
        "Reasoning model": (f"yes (per {reasoning.get('source')}), budget {reasoning.get('budget')} tokens"
                            if reasoning.get("thinks") else "no"),
        "Chat-template arguments": reasoning.get("chat_template_kwargs") or "none",
        "Suite": f"{run['suite_name']} · version {run['suite_version']}",
        "Dtype": spec.get("dtype", model["precision"]),
        "Seed": spec.get("seed"), "Option orders (K)": spec.get("k"),
        "Prompt template version": spec.get("prompt_template_version"), "Backend": execution.get("backend"),
        "Chat template": spec.get("use_chat_template", model["use_chat_template"]),
        "Evaluator version": run["evaluator_version"],
        "Run": f"#{run['id']}, finished {format_when(run['finished_at'])}",
    }
    st.dataframe(pd.DataFrame({"Fact": list(card), "Value": [str(v) for v in card.values()]}), hide_index=True,
                 height="content", width="stretch",
                 column_config={"Fact": st.column_config.TextColumn(width="medium"),
                                "Value": st.column_config.TextColumn(width="large")})
    st.markdown("**Environment at run time**")
    st.json(run["environment"], expanded=True)
    st.markdown("**Run spec: what determines the numbers**")
    st.json(spec, expanded=False)
    st.markdown("**Execution spec: how it ran** (backend, device, tensor parallelism, batch policy, placement)")
    st.json(execution, expanded=False)
    st.markdown("**Reproduce**")
    st.code(run["command"], language="bash", wrap_lines=True)
