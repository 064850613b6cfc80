"""The paper's four-level optimisation advice, derived from one model's error profile (spec section 5).

Each rule is one failure signature from arXiv 2503.07306 with its threshold; a rule that fires yields an
:class:`Advice` carrying the figure that triggered it, so the page can show why, not just what.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    share, count, total = _share(errors("knowledge"), "Omissions")
    if share is not None and share > OMISSIONS_KNOWLEDGE:
        advice.append(Advice((1, 2), f"> {OMISSIONS_KNOWLEDGE:.0%} omissions in knowledge QA",
                             f"{share:.1%} of knowledge-QA errors are omissions ({count} of {total})",
                             "Widen data coverage: clean and extend the medical training data, prompt for complete "
                             "answers, then add retrieval of the missing knowledge."))
    share, count, total = _share(errors("generation"), "Hallucination")
    if share is not None and share > HALLUCINATION_GENERATION:
        advice.append(Advice((2,), f"> {HALLUCINATION_GENERATION:.0%} hallucinations in generation",
                             f"{share:.1%} of generation errors are hallucinations ({count} of {total})",
                             "Add retrieval-augmented verification: ground generated records in retrieved sources "
                             "and check claims against them."))
    shaky = [(dim, row["robustness"]) for dim, row in by_dim.items()
             if dim != "overall" and row.get("robustness") is not None and row["robustness"] < ROBUSTNESS_FLOOR]
    if shaky:
        advice.append(Advice((1, 2), f"robustness < {ROBUSTNESS_FLOOR} under option shuffling",
                             "consistency over the option orders: " + ", ".join(f"{d} {r:.2f}" for d, r in shaky),
                             "Enforce explicit constraints (answer by content, not position) or fine-tune on "
                             "shuffled options (safety fine-tuning for the ethics dimension)."))
    all_errors: dict[str, int] = errors("overall") or {
        k: v for dim in by_dim if dim != "overall" for k, v in errors(dim).items()
    }
    share, count, total = _share(all_errors, "Format Mismatch")
    if share is not None and share > FORMAT_MISMATCH:
        advice.append(Advice((1,), f"format mismatch > {FORMAT_MISMATCH:.0%}",
                             f"{share:.1%} of all errors are format mismatches ({count} of {total})",
                             "Strengthen structured-output training (answer formats per task) and prompt templates."))
    share, count, total = _share(errors("reasoning"), "Omissions")
    if share is not None and share > OMISSIONS_REASONING:
        advice.append(Advice((3,), f"omissions in multi-step reasoning > {OMISSIONS_REASONING:.0%} (after Level 2)",
                             f"{share:.1%} of complex-reasoning errors are omissions ({count} of {total})",
                             "If Level 2 measures are in place and this persists, move to Level 3: modular "
                             "reasoning with real-time validation of each step."))
    return advice
