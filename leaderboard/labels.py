"""Names and number formats shared by the public pages, so every page says the same thing the same way."""
from __future__ import annotations

from typing import Any

import pandas as pd

from common.display import compact_count
from common.i18n import has, t
from evaluator.benchmark.reference_lines import ReferenceLine
from evaluator.benchmark.tasks import DIMENSION_LABELS, TASKS, Dimension, Kind
from evaluator.benchmark.taxonomy import CATEGORIES  # noqa: F401  (re-exported for the pages and charts)

SHORT_DIMENSION = {
    Dimension.KNOWLEDGE: "Knowledge", Dimension.UNDERSTANDING: "Understanding", Dimension.GENERATION: "Generation",
    Dimension.REASONING: "Reasoning", Dimension.SAFETY: "Safety & Ethics",
}
# Ids of figures in column ids, sort keys and exports (the same in both languages); what the page shows and the
# help texts are in common/translations.toml (col.robustness, col.strict_accuracy, protocol.help, ...).
ROBUSTNESS = "Robustness"
STRICT = "Strict accuracy"  # shown beside robustness: consistency alone would read as quality
SOURCE_LABELS = {"hf": "Hugging Face", "modelscope": "ModelScope", "api": "API"}
NOT_PINNED = "API: not pinned to a revision"


def dimension_label(key: str, short: bool = False) -> str:
    """'Medical Knowledge QA 医学知识问答' (or 'Knowledge' when short) for a dimension key; 'Overall' for
    overall. The same in both languages: view names in URLs (``?view=Knowledge``), sort keys and export headers;
    pages show :func:`dimension_name`."""
    if key == "overall":
        return "Overall"
    try:
        dim = Dimension(key)
    except ValueError:
        return key
    english, chinese = DIMENSION_LABELS[dim]
    return SHORT_DIMENSION[dim] if short else f"{english} {chinese}"


def dimension_name(key: str, short: bool = False, lang: str | None = None) -> str:
    """A dimension's name as the page shows it, in the page's language: '知识' / 'Knowledge' (short, the radar's
    axes), '医学知识问答' / 'Medical Knowledge QA'; ``key`` itself when it is no dimension."""
    entry = f"dim.{key}.{'short' if short else 'long'}"
    return t(entry, lang) if has(entry) else key


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


def protocol_line(protocol: str, reasoning: dict[str, Any] | None, lang: str | None = None) -> str:
    """The sentence that names how a run's answers were obtained (model page, compare page), in the page's
    language."""
    text = t("line.protocol", lang, protocol=protocol,
             how=t("line.protocol_generate" if protocol == "generate" else "line.protocol_logprob", lang))
    reasoning = reasoning or {}
    if reasoning.get("thinks"):
        source = str(reasoning.get("source"))
        text += t("line.reasoning", lang, budget=reasoning.get("budget"),
                  source=t(REASONING_SOURCES.get(source, "line.source_run"), lang))
    return text + t("line.end", lang)


REASONING_SOURCES = {"template": "line.source_template", "organizer": "line.source_organizer",
                     "run": "line.source_run"}  # who decided that a run's model reasons


def cost_line(cost: dict[str, Any] | None, lang: str | None = None) -> str | None:
    """Generation cost in one line, in the page's language (None when the run generated nothing)."""
    if not cost or not cost.get("answers"):
        return None
    parts = [t("line.cost_tokens", lang, mean=f"{cost['tokens_mean']:.1f}", p95=f"{cost['tokens_p95']:.0f}")]
    if cost.get("reasoning_tokens_total"):
        parts.append(t("line.cost_reasoning", lang, mean=f"{cost['reasoning_tokens_mean']:.1f}"))
    if cost.get("device_seconds") is not None:
        parts.append(t("line.cost_device", lang, seconds=f"{cost['device_seconds']:.1f}",
                       device=str(cost.get("device") or "device").upper()))
    return t("line.cost", lang, parts=t("line.comma", lang).join(parts), answers=cost["answers"])


def reference_help(line: ReferenceLine, lang: str | None = None) -> str:
    """A task's reference lines as a column-help sentence in the page's language: its chance level (with how it
    is computed for the task's kind) and its pass line (with the exam that defines it)."""
    spec = TASKS.get(line.task)
    if line.chance is None:
        chance = t("line.no_chance", lang)
    else:
        rule = CHANCE_RULE_KEYS.get(spec.kind) if spec else None
        chance = t("line.chance", lang, chance=f"{line.chance:.3f}") + (
            t("line.paren", lang, text=t(rule, lang)) if rule else "")
    if line.pass_line is None:
        passing = t("line.no_pass", lang)
    else:
        passing = t("line.pass", lang, line=f"{line.pass_line:.3f}", source=line.pass_line_source)
    return t("line.reference", lang, task=line.task, chance=chance, passing=passing)


CHANCE_RULE_KEYS = {Kind.SINGLE_CHOICE: "line.rule_single", Kind.YES_NO: "line.rule_yes_no",
                    Kind.MULTI_CHOICE: "line.rule_multi"}  # how chance is computed per kind (reference_lines)
