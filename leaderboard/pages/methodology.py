"""How every number on this site is made: dimensions, tasks, metrics and formulas, robustness, the error
taxonomy and how its tags are made (with their measured agreement with human review), and the limits.

Task and rule tables are read from the registries (evaluator.benchmark.tasks, evaluator.benchmark.taxonomy), so this page cannot
drift from what the evaluator does.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from evaluator.benchmark.agreement import MIN_REVIEWS_FOR_KAPPA, kappa_text
from evaluator.benchmark.scoring import all_metrics
from evaluator.benchmark.scoring import extract as answer_extractor
from evaluator.benchmark.tasks import TASKS
from evaluator.benchmark.taxonomy import HARD_CASE_RULES, RULES
from leaderboard import cache
from leaderboard.advice import LEVELS
from common.i18n import t, table_headers, task_name, th
from leaderboard.labels import arxiv_link, dimension_name, fmt_score
from leaderboard.ranking import DIMENSIONS

METRIC_FORMULAS = {name: metric.formula for name, metric in all_metrics().items()}  # each metric defines itself

st.title(t("method.title"))
st.caption(t("app.research_notice"))

st.header(t("method.h_dimensions"))
st.markdown(t("method.dimensions", paper=arxiv_link("2407.10990")))
st.markdown(t("method.ranks", rule=t("col.rank.help")))
# st.table: every task and the whole instruction, wrapped (a dataframe showed 10 rows and cut the instructions)
st.table(pd.DataFrame([{
    t("method.col_dimension"): dimension_name(spec.dimension.value), "Task": name,
    t("method.col_name"): task_name(name),
    t("method.col_asks"): spec.description, t("method.col_kind"): spec.kind.value, t("method.col_metric"): spec.metric,
    t("method.col_instruction"): spec.instruction,
} for name, spec in TASKS.items()]).set_index("Task").rename_axis(t("method.col_task")))  # code, name beside it

st.header(t("method.h_metrics"))
# st.table wraps long cells; a dataframe cut every formula at the column's width.
st.table(pd.DataFrame({t("method.col_metric"): list(METRIC_FORMULAS),
                       t("method.col_formula"): list(METRIC_FORMULAS.values())}).set_index(t("method.col_metric")))

st.header(t("method.h_protocols"))
st.markdown(t("method.protocols"))

# ----- How a written answer is read (the one answer extractor, evaluator.benchmark.scoring.extract) -----
st.header(t("method.h_extractor"))
st.markdown(t("method.extractor"))
st.table(pd.DataFrame([{"#": i, "Rule": name, "What it reads": t(f"extract_rule.{name}")}
                       for i, (name, _) in enumerate(answer_extractor.RULES)]).set_index("#").rename(columns=th))
_examples = []
for _kind, _options, _output in answer_extractor.EXAMPLES:
    _letters = [] if _kind == "cloze" else [chr(65 + i) for i in range(len(_options))]
    _result = answer_extractor.extract(_output, _kind, _letters, list(_options))
    _examples.append({"Kind": _kind, "Options shown": " / ".join(
        f"{letter}. {text}" for letter, text in zip(_letters, _options)) or "、".join(_options),
        "Output": _output, "Read as": "、".join(_result.answer) if _result.ok else f"— ({_result.reason})",
        "Rule": _result.rule})
st.table(pd.DataFrame(_examples).rename(columns=th))
_agreement = answer_extractor.CORPUS_AGREEMENT
st.markdown(t("method.measured", rows=_agreement["rows"], extractor=f"{_agreement['extractor']:.1%}",
              extractor_choice=f"{_agreement['extractor_choice']:.1%}", choice_rows=_agreement["choice_rows"],
              opencompass=f"{_agreement['opencompass_choice']:.1%}"))

st.header(t("method.h_robustness"))
st.markdown(t("method.robustness"))

st.header(t("method.h_reference"))
st.markdown(t("method.reference", pass_line=f"{TASKS['Med-Exam'].pass_line:.2f}",
              source=TASKS["Med-Exam"].pass_line_source))

st.header(t("method.h_taxonomy"))
st.markdown(t("method.taxonomy"))
st.table(pd.DataFrame([{
    "#": i + 1, "Rule": rule.name, "Category": rule.category, "What triggers it": t(f"rule.{rule.name}"),
    "Also unscored": t("method.yes") if rule.surface else "",
    "Hard case": t("method.yes") if rule.name in HARD_CASE_RULES else "",
} for i, rule in enumerate(RULES)]).set_index("#").rename(columns=th))  # rule triggers said in the page's language

st.subheader(t("method.h_agreement"))
summary = cache.agreement(cache.version())
if not summary:
    st.info(t("method.no_reviews"))
else:
    kappa = summary.get("kappa")
    agreement = summary.get("observed_agreement")
    cols = st.columns(3)
    cols[0].metric(t("method.reviewed_tags"), summary["n_reviewed"])
    cols[1].metric(t("method.observed_agreement"), "—" if agreement is None else f"{agreement:.1%}")
    cols[2].metric(t("method.kappa"), kappa_text(kappa, summary.get("kappa_ci"), summary["n_reviewed"]))
    st.caption(t("method.kappa_note", n=MIN_REVIEWS_FOR_KAPPA))
    per_category = summary.get("per_category") or {}
    categories = pd.DataFrame([{"Category": c, "automatic": v.get("auto"), "human": v.get("human"),
                                "agreed": v.get("agreed"), "precision": fmt_score(v.get("precision")),
                                "recall": fmt_score(v.get("recall"))} for c, v in per_category.items()])
    st.dataframe(categories, hide_index=True, column_config=table_headers(categories.columns, {  # of tags, not dtype
        "precision": st.column_config.Column(t("method.tag_precision"))}))
    by_method = summary.get("by_method") or {}
    if by_method:
        methods = pd.DataFrame([{"Tagged by": m, **v} for m, v in by_method.items()])
        st.dataframe(methods, hide_index=True, column_config=table_headers(methods.columns))

st.header(t("method.h_advice"))
st.markdown(t("method.advice", paper=arxiv_link("2503.07306")))
st.markdown("\n".join(f"- {text}" for text in LEVELS.values()))
st.markdown(t("method.signatures"))

st.header(t("method.h_visibility"))
st.markdown(t("method.visibility"))

st.header(t("method.h_limits"))
st.markdown(t("method.limits", dimensions=", ".join(dimension_name(d, short=True) for d in DIMENSIONS)))
st.warning(t("app.research_notice"))
