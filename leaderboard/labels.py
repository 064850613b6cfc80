"""Names and number formats shared by the public pages, so every page says the same thing the same way."""
from __future__ import annotations

from typing import Any

from evaluator.tasks import DIMENSION_LABELS, Dimension
from evaluator.taxonomy import CATEGORIES  # noqa: F401  (re-exported for the pages and charts)

SHORT_DIMENSION = {
    Dimension.KNOWLEDGE: "Knowledge", Dimension.UNDERSTANDING: "Understanding", Dimension.GENERATION: "Generation",
    Dimension.REASONING: "Reasoning", Dimension.SAFETY: "Safety & Ethics",
}
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
    return value is None or (isinstance(value, float) and value != value)


def score_with_ci(score: Any, low: Any, high: Any, digits: int = 3) -> str:
    """'0.712 [0.680, 0.741]', or '—' when there is no score."""
    if is_missing(score):
        return "—"
    if is_missing(low) or is_missing(high):
        return f"{score:.{digits}f}"
    return f"{score:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def params_label(params: Any) -> str:
    """A parameter count as people say it: '7.2B', '160K', 'unknown'."""
    if is_missing(params):
        return "unknown"
    value = float(params)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.1f}{unit}".replace(".0", "")
    return str(int(value))
