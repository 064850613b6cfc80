"""Names and number formats shared by the public pages, so every page says the same thing the same way."""
from __future__ import annotations

from typing import Any

import pandas as pd

from common.display import compact_count, plural  # noqa: F401  (plural: re-exported for the pages)
from evaluator.benchmark.tasks import DIMENSION_LABELS, Dimension
from evaluator.benchmark.taxonomy import CATEGORIES  # noqa: F401  (re-exported for the pages and charts)

SHORT_DIMENSION = {
    Dimension.KNOWLEDGE: "Knowledge", Dimension.UNDERSTANDING: "Understanding", Dimension.GENERATION: "Generation",
    Dimension.REASONING: "Reasoning", Dimension.SAFETY: "Safety & Ethics",
}
ROBUSTNESS = "Robustness"  # the one name of the figure, on every page; ROBUSTNESS_HELP says what it is
ROBUSTNESS_HELP = ("Consistency under option shuffling: the share of choice questions answered identically under "
                   "all K option orders. Consistent wrong answers count too, so this is not a quality score on its "
                   "own: read it beside strict accuracy. A question without a readable answer under some order is "
                   "never consistent.")
STRICT = "Strict accuracy"  # shown beside robustness: consistency alone would read as quality
STRICT_HELP = "Strict accuracy: the share of choice questions answered correctly under every one of the K option orders."
COST_HELP = ("Generation cost of this run: mean generated tokens per answer (95th percentile in exports and on the "
             "model page); reasoning models' thinking included.")
PROTOCOL_HELP = ("How answers were obtained. generate (official, as MedBench): the model writes its answer to the "
                 "zero-shot prompt and the answer is extracted from the text; the only protocol for reasoning models. "
                 "logprob (fast): the next-token scores of the option letters after 答案： decide. Runs of the two "
                 "protocols are ranked apart.")
RANK_RULE = ("Rank (#) = 1 + the number of models whose overall 95% interval lies entirely above this one's, so "
             "models whose intervals overlap share a rank; the table stays sorted by score.")
SOURCE_LABELS = {"hf": "Hugging Face", "modelscope": "ModelScope", "api": "API"}
SOURCE_HELP = ("Where the model comes from: Hugging Face or ModelScope (weights pinned to a commit), or API (served "
               "behind an endpoint, not pinned to a revision: the vendor may change the model behind its name).")
NOT_PINNED = "API: not pinned to a revision"
RESEARCH_NOTICE = ("Research use only — not for clinical decisions. Scores describe behaviour on a benchmark, not "
                   "fitness for diagnosis or treatment. 仅供研究使用，不得用于临床决策。")


def dimension_label(key: str, short: bool = False) -> str:
    """'Medical Knowledge QA 医学知识问答' (or 'Knowledge' when short) for a dimension key; 'Overall' for
    overall."""
    if key == "overall":
        return "Overall"
    try:
        dim = Dimension(key)
    except ValueError:
        return key
    english, chinese = DIMENSION_LABELS[dim]
    return SHORT_DIMENSION[dim] if short else f"{english} {chinese}"


def is_missing(value: Any) -> bool:
    """None, NaN (any float type) or pandas' NA: a figure that was not computed."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


SCORE_DIGITS = 3  # every score, interval, share and difference on the site: 0.083, never 0.0826 next to 0


def fmt_score(value: Any, signed: bool = False) -> str:
    """A score as the site shows it: '0.083' ('+0.003' / '-0.033' when ``signed``), '—' when there is none."""
    if is_missing(value):
        return "—"
    return f"{float(value):{'+' if signed else ''}.{SCORE_DIGITS}f}"


def score_with_ci(score: Any, low: Any, high: Any) -> str:
    """'0.712 [0.680, 0.741]', '0.712' without an interval, or '—' when there is no score."""
    if is_missing(score):
        return "—"
    if is_missing(low) or is_missing(high):
        return fmt_score(score)
    return f"{fmt_score(score)} [{fmt_score(low)}, {fmt_score(high)}]"


def arxiv_link(paper_id: str) -> str:
    """A Markdown link to an arXiv paper, 'arXiv 2503.07306' as its text."""
    return f"[arXiv {paper_id}](https://arxiv.org/abs/{paper_id})"


def params_label(params: Any) -> str:
    """A parameter count as people say it: '7.2B', '160K', 'unknown'."""
    return "unknown" if is_missing(params) else compact_count(float(params))


def protocol_line(protocol: str, reasoning: dict[str, Any] | None) -> str:
    """The sentence that names how a run's answers were obtained (model page, compare page)."""
    official = protocol == "generate"
    text = (f"Answer protocol: **{protocol}** " + ("(official: the model wrote its answers, which were extracted)"
                                                   if official else "(fast: option letters scored by log-probs)"))
    reasoning = reasoning or {}
    if reasoning.get("thinks"):
        source = {"template": "its chat template", "organizer": "the organizers", "run": "the run"}.get(
            str(reasoning.get("source")), "the run")
        text += (f"; reasoning model (per {source}): thinking budget {reasoning.get('budget')} tokens, answers read "
                 "only after the reasoning")
    return text + "."


def cost_line(cost: dict[str, Any] | None) -> str | None:
    """Generation cost in one line (None when the run generated nothing)."""
    if not cost or not cost.get("answers"):
        return None
    parts = [f"{cost['tokens_mean']:.1f} generated tokens per answer (95th percentile {cost['tokens_p95']:.0f})"]
    if cost.get("reasoning_tokens_total"):
        parts.append(f"{cost['reasoning_tokens_mean']:.1f} of them reasoning")
    if cost.get("device_seconds") is not None:
        parts.append(f"{cost['device_seconds']:.1f} {str(cost.get('device') or 'device').upper()}-seconds in all")
    return "Generation cost: " + ", ".join(parts) + f" ({cost['answers']} generated answers)."
