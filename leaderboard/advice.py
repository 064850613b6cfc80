"""The paper's four-level optimisation advice, derived from one model's error profile (spec section 5).

Each rule is one failure signature from arXiv 2503.07306 with its threshold; a rule that fires yields an
:class:`Advice` carrying the figure that triggered it, so the page can show why, not just what.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leaderboard.labels import fmt_score

LEVELS: dict[int, str] = {
    1: "Level 1 · prompt engineering, data cleaning, LoRA fine-tuning",
    2: "Level 2 · knowledge-augmented retrieval, multi-task training, ethical constraints",
    3: "Level 3 · hybrid neuro-symbolic / modular reasoning, real-time validation",
    4: "Level 4 · multimodal pre-training, causal reasoning modules, digital-twin simulation",
}
OMISSIONS_KNOWLEDGE = 0.40
HALLUCINATION_GENERATION = 0.60
ROBUSTNESS_FLOOR = 0.85
FORMAT_MISMATCH = 0.10
OMISSIONS_REASONING = 0.50


@dataclass(frozen=True)
class Advice:
    levels: tuple[int, ...]
    signature: str  # the failure signature, as the paper states it
    figure: str  # this model's figure that triggered it
    action: str  # what to do


def _share(counts: dict[str, int], category: str) -> tuple[float | None, int, int]:
    total = sum(counts.values())
    if total == 0:
        return None, 0, 0
    return counts.get(category, 0) / total, counts.get(category, 0), total


def advise(dimensions: list[dict[str, Any]]) -> list[Advice]:
    """Advice for a model from its dimension rows (``dimension``, ``robustness``, ``error_counts``).

    Shares are of the tagged wrong answers in that dimension; robustness is the consistency under the K option
    orders. Rules with no data (no errors, no choice items) stay silent.
    """
    by_dim = {row["dimension"]: row for row in dimensions}
    advice: list[Advice] = []

    def errors(dim: str) -> dict[str, int]:
        return dict((by_dim.get(dim) or {}).get("error_counts") or {})

    def share_rule(counts: dict[str, int], category: str, limit: float, levels: tuple[int, ...], signature: str,
                   errors_are: str, action: str) -> None:
        """Fire when ``category`` is more than ``limit`` of ``counts``; the figure reads "x% of <errors_are>"."""
        share, count, total = _share(counts, category)
        if share is not None and share > limit:
            advice.append(Advice(levels, signature, f"{share:.1%} of {errors_are} ({count} of {total})", action))

    share_rule(errors("knowledge"), "Omissions", OMISSIONS_KNOWLEDGE, (1, 2),
               f"> {OMISSIONS_KNOWLEDGE:.0%} omissions in knowledge QA", "knowledge-QA errors are omissions",
               "Widen data coverage: clean and extend the medical training data, prompt for complete "
               "answers, then add retrieval of the missing knowledge.")
    share_rule(errors("generation"), "Hallucination", HALLUCINATION_GENERATION, (2,),
               f"> {HALLUCINATION_GENERATION:.0%} hallucinations in generation", "generation errors are hallucinations",
               "Add retrieval-augmented verification: ground generated records in retrieved sources "
               "and check claims against them.")
    shaky = [(dim, row["robustness"]) for dim, row in by_dim.items()
             if dim != "overall" and row.get("robustness") is not None and row["robustness"] < ROBUSTNESS_FLOOR]
    if shaky:
        advice.append(Advice((1, 2), f"robustness < {ROBUSTNESS_FLOOR} under option shuffling",
                             "consistency over the option orders: "
                             + ", ".join(f"{d} {fmt_score(r)}" for d, r in shaky),
                             "Enforce explicit constraints (answer by content, not position) or fine-tune on "
                             "shuffled options (safety fine-tuning for the ethics dimension)."))
    all_errors: dict[str, int] = errors("overall") or {
        k: v for dim in by_dim if dim != "overall" for k, v in errors(dim).items()
    }
    share_rule(all_errors, "Format Mismatch", FORMAT_MISMATCH, (1,), f"format mismatch > {FORMAT_MISMATCH:.0%}",
               "all errors are format mismatches",
               "Strengthen structured-output training (answer formats per task) and prompt templates.")
    share_rule(errors("reasoning"), "Omissions", OMISSIONS_REASONING, (3,),
               f"omissions in multi-step reasoning > {OMISSIONS_REASONING:.0%} (after Level 2)",
               "complex-reasoning errors are omissions",
               "If Level 2 measures are in place and this persists, move to Level 3: modular "
               "reasoning with real-time validation of each step.")
    return advice
