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
                   "all K option orders, right or wrong.")
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
