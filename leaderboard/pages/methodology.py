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
from leaderboard.labels import RESEARCH_NOTICE, arxiv_link, dimension_label, fmt_score
from leaderboard.ranking import DIMENSIONS, RANK_RULE

METRIC_FORMULAS = {name: metric.formula for name, metric in all_metrics().items()}  # each metric defines itself

st.title("Methodology · 评测方法")
st.caption(RESEARCH_NOTICE)

st.header("Dimensions and tasks")
st.markdown(f"Five dimensions after MedBench ({arxiv_link('2407.10990')}). **Task score** = the task's metric over "
            "its scored items; **dimension score** = mean of its task scores; **overall** = mean of the five dimension "
            "scores (equal weight). Every score carries a **95% bootstrap confidence interval** that resamples "
            "questions (not option orders), and *n* — the number of scored questions — is shown beside it. "
            "Questions without a reference answer (public test files) are run and browsable but **unscored**.")
st.markdown(f"**Ranks.** {RANK_RULE} (Chatbot Arena's rule.)")
# st.table: every task and the whole instruction, wrapped (a dataframe showed 10 rows and cut the instructions)
st.table(pd.DataFrame([{
    "Dimension": dimension_label(spec.dimension.value), "Task": name, "What it asks": spec.description,
    "Kind": spec.kind.value, "Metric": spec.metric, "Instruction (zero-shot)": spec.instruction,
} for name, spec in TASKS.items()]).set_index("Task"))

st.header("Metrics and formulas")
# st.table wraps long cells; a dataframe cut every formula at the column's width.
st.table(pd.DataFrame({"Metric": list(METRIC_FORMULAS), "Formula": list(METRIC_FORMULAS.values())}).set_index("Metric"))

st.header("Answer protocols · which one ranks")
st.markdown("""How a choice, yes/no or triage answer is obtained is the run's **answer protocol**, stored in its run
spec and named wherever its scores are shown (leaderboard, model and compare pages, exports, reproducibility card).

- **generate** (official; the leaderboard ranks it by default): as MedBench and OpenCompass, the model *writes* its
  answer to the zero-shot prompt (its chat template applied, greedy decoding) under each of the K option orders, and
  the answer extractor below reads it; the answer is then mapped back through that order's permutation. This is the
  only protocol that works for every chat model and for reasoning models, and the only one under which Format
  Mismatch, Unanswered and Output Error can occur on choice questions.
- **logprob** (fast, for base models and quick offline runs): after the prompt and "答案：" the next-token scores
  of the option letters decide. A model never fails to answer under it, so it flatters models that cannot follow
  the instruction.

Runs of both protocols of one model may coexist; the leaderboard ranks one protocol at a time (choose it above the
table, or `?protocol=logprob` in the URL). Multi-choice, open and structured tasks are generated under both.

**Reasoning models** (Qwen3, DeepSeek-R1 distills, HuatuoGPT-o1: a `<think>…</think>` block before the answer) are
detected from the chat template (a `<think>` tag or an `enable_thinking` switch, which is then set to on), and
organizers may override the detection at moderation. A reasoning model gets a **thinking budget** (4,096 new
tokens by default, on top of the task's answer length). Its reasoning is stored apart from its answer, the answer
is read only from what follows `</think>`, and reasoning that does not end within the budget is tagged **Output
Error (truncated)**, never read as an answer. A non-reasoning model's generation stops as soon as its answer can no
longer change (a leading answer line followed by a complete other line), which reads exactly as the full output.

**Generation cost** per run — generated tokens per answer (mean and 95th percentile), reasoning tokens, and the
device- (GPU or CPU) seconds the run held its model — is shown on the model page and in the leaderboard's
dimension views: equal scores can hide a hundredfold difference in what an answer costs.""")

# ----- How a written answer is read (the one answer extractor, evaluator.benchmark.scoring.extract) -----
st.header("How a written answer is read")
st.markdown("When a model writes its answer to a choice, yes/no or triage (cloze) question, one rule-based "
            "**answer extractor** reads it: the letters shown in the prompt (mapped back to the original options "
            "afterwards), or why there is none — *empty*, *refusal*, *no answer*, *several answers* (several picks "
            "for a single-pick question) or *truncated* (the budget ran out before an answer, or a reasoning model "
            "never closed `</think>`). Text before `</think>` is never read. Full-width characters fold to half "
            "width (Unicode NFKC). The error taxonomy turns several answers into **Format Mismatch**, empty / "
            "refusal / no answer into **Unanswered**, truncated into **Output Error**. Rules, tried in order:")
st.table(pd.DataFrame([{"#": i, "Rule": name, "What it reads": text}
                       for i, (name, text) in enumerate(answer_extractor.RULES)]).set_index("#"))
_examples = []
for _kind, _options, _output in answer_extractor.EXAMPLES:
    _letters = [] if _kind == "cloze" else [chr(65 + i) for i in range(len(_options))]
    _result = answer_extractor.extract(_output, _kind, _letters, list(_options))
    _examples.append({"Kind": _kind, "Options shown": " / ".join(
        f"{letter}. {text}" for letter, text in zip(_letters, _options)) or "、".join(_options),
        "Output": _output, "Read as": "、".join(_result.answer) if _result.ok else f"— ({_result.reason})",
        "Rule": _result.rule})
st.table(pd.DataFrame(_examples))
_agreement = answer_extractor.CORPUS_AGREEMENT
st.markdown(f"""**Measured.** On a hand-labelled corpus of {_agreement['rows']} outputs written in the styles of
Chinese chat, reasoning and base models (with adversarial cases), the extractor agrees with the human label on
**{_agreement['extractor']:.1%}** of outputs ({_agreement['extractor_choice']:.1%} of the {_agreement['choice_rows']}
choice and yes/no outputs). **OpenCompass's MedBench rule** — remove a list of medical acronyms (CT, MRI, NYHA, …),
then take every capital letter A–Z left, in order, as the answer — agrees on **{_agreement['opencompass_choice']:.1%}**
of the same choice outputs (read after the reasoning, letters compared as a set). The difference: OpenCompass's rule
reads every capital letter, so explanations that mention other options (“A项错误…故选C”), English text (“The
answer is C”), terms such as B超 or D-二聚体 and answers written as option text or 是/否 are misread; it has no
notion of a refusal or a truncated answer. The extractor prefers an answer given first, then the last explicit
answer marker (答案 / 故选 / 综上 …), and only then weaker evidence.""")

st.header("Robustness under option shuffling")
st.markdown("""Every choice question is asked under **K = 5 option orders**: the original first, then four
seeded shuffles (distinct where the option count allows: a yes/no question has only **2** orders, so it is asked
twice). Answers are mapped back to the original options. An answer the model failed to produce (a crash, non-finite
scores, nothing readable) counts as wrong; robustness also counts questions without a reference answer, since
consistency needs none.

- **Accuracy** = mean correctness over all (question, order) pairs.
- **Strict accuracy** = share of questions answered correctly under *all* K orders (OpenCompass's CircularEval).
- **Robustness** (consistency under option shuffling) = share of questions that have a readable answer under every
  order and whose mapped-back answer is identical under all K orders, right or wrong. A question with no readable
  answer under one or more orders (nothing extracted, a refusal, reasoning never closed) is **not** robust: five
  unanswered orders are not "consistent". Consistent wrong answers do count, so robustness is never a quality score
  on its own: the site always shows it beside strict accuracy. MedBench publishes no formula for its robustness score
  (the paper reports 0.79 in safety & ethics), so all three figures are shown.
- **Position bias** = how often each shown letter is chosen, against how often it is the right one.""")

st.header("Reference lines: chance and pass lines")
st.markdown(f"""Model pages mark two reference lines on each task's score. **Chance** is the expected score of a
random guesser, from each question's option count *n* and the option orders asked: single choice 1/n (averaged
over questions), yes/no 1/2, multi-choice exact set 1/(2^n − 1); for strict accuracy, the chance of being right
under all K orders, (1/n)^K. Tasks that are not a pick from listed options (triage, extraction, records, open
answers) have none. A **pass line** is shown where a real exam defines one: Med-Exam
{TASKS['Med-Exam'].pass_line:.2f} — {TASKS['Med-Exam'].pass_line_source}. Other tasks have no defined pass line.""")

st.header("Error taxonomy · how tags are made")
st.markdown("Every wrong or incomplete answer gets one **primary** category of the paper's eight (and maybe "
            "secondary ones). The paper tagged by three-expert consensus; this site tags **automatically**, and "
            "every tag says how it was made: `rule:<name>` or `judge:<model>`. Rules are checked in order and the "
            "first match gives the primary category (the other matches become secondary tags). Questions without a "
            "reference answer are checked with the rules marked *also unscored* only; a wrong answer no rule "
            "matches gets its kind's default (`rule:fallback`). Where a judge model is run, it may re-tag the "
            "hard cases (`judge:<model>`).")
st.table(pd.DataFrame([{
    "#": i + 1, "Rule": rule.name, "Category": rule.category, "What triggers it": rule.trigger,
    "Also unscored": "yes" if rule.surface else "", "Hard case": "yes" if rule.name in HARD_CASE_RULES else "",
} for i, rule in enumerate(RULES)]).set_index("#"))

st.subheader("Agreement of automatic tags with human review")
summary = cache.agreement(cache.version())
if not summary:
    st.info("No reviews yet: organizers review samples of automatic tags on the Tag review page; the agreement "
            "appears here once they have.")
else:
    kappa = summary.get("kappa")
    agreement = summary.get("observed_agreement")
    cols = st.columns(3)
    cols[0].metric("Reviewed tags", summary["n_reviewed"])
    cols[1].metric("Observed agreement", "—" if agreement is None else f"{agreement:.1%}")
    cols[2].metric("Cohen's κ", kappa_text(kappa, summary.get("kappa_ci"), summary["n_reviewed"]))
    st.caption(f"Cohen's κ is published from {MIN_REVIEWS_FOR_KAPPA} reviews on, with a 95% percentile bootstrap "
               "interval that resamples the reviewed tags: with fewer reviews the interval is wider than the "
               "0.2-wide bands κ is read by (Landis & Koch: slight, fair, moderate, substantial, almost perfect).")
    per_category = summary.get("per_category") or {}
    st.dataframe(pd.DataFrame([{"Category": c, "automatic": v.get("auto"), "human": v.get("human"),
                                "agreed": v.get("agreed"), "precision": fmt_score(v.get("precision")),
                                "recall": fmt_score(v.get("recall"))} for c, v in per_category.items()]),
                 hide_index=True)
    by_method = summary.get("by_method") or {}
    if by_method:
        st.dataframe(pd.DataFrame([{"Tagged by": m, **v} for m, v in by_method.items()]), hide_index=True)

st.header("From an error profile to advice")
st.markdown("Model pages turn the error profile into the paper's four-level optimisation framework "
            f"({arxiv_link('2503.07306')}), showing the figure that triggered each piece of advice:")
st.markdown("\n".join(f"- {text}" for text in LEVELS.values()))
st.markdown("""Failure signatures: > 40% omissions in knowledge QA → Levels 1–2; > 60% hallucinations in generation
→ retrieval-augmented verification (Level 2); robustness < 0.85 under shuffling → explicit constraints or safety
fine-tuning; format mismatch > 10% of errors → structured-output training (Level 1); > 50% omissions in complex
reasoning after Level 2 → Level 3.""")

st.header("Public and private test sets · 公开与非公开测试集")
st.markdown("""A benchmark whose questions and reference answers are on the web ends up in the next models' training
data, and then measures memory instead of ability. MedBench therefore keeps its test items apart from the public
and scores in the cloud; MedHELM separates public, gated and private benchmarks. Every suite here has a
**visibility**, chosen by the organizers at import (private unless they choose public) and changed only by them,
with every change in the audit log:

- **public test set**: questions, reference answers, the exact prompts and every model's outputs may be browsed on
  the model and compare pages and downloaded (the per-model *details* file);
- **private test set**: only aggregate figures are published: task, dimension and overall scores with their
  intervals, strict accuracy, robustness, position bias as shares and error-category counts. No question, option,
  reference, prompt or model output of the suite appears on any public page, URL or download, and the option
  orders of its runs come from a secret kept on the server, so they cannot be precomputed from the run's public
  seed. The leaderboard's header says which kind of set the ranking is on.""")

st.header("Limits")
st.markdown(f"""- Automatic tags approximate expert judgement; see their measured agreement above.
- Scores are zero-shot, with fixed Chinese prompts; other prompting may rank models differently.
- Small suites give wide intervals: compare models only where intervals do not overlap.
- Public items may have leaked into training data; organizers flag suspected cases, and a flag is shown with
  its reason.
- The dimensions ({', '.join(dimension_label(d, short=True) for d in DIMENSIONS)}) follow MedBench but this
  site's suite is not MedBench's hidden test set, and its formulas (fixed where MedBench publishes none) are
  the ones above.""")
st.warning(RESEARCH_NOTICE)
