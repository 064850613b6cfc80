"""Answer-point coverage: the rule behind answer-point macro-recall.

An item's ``answer_points`` is a list of key points, each a list ``[point, synonym, ...]``. A point counts as
covered when the normalised answer contains the normalised point or any of its synonyms (see
:mod:`evaluator.benchmark.scoring.normalize`: full/half-width, punctuation, traditional/simplified and numbered-class forms
are folded first). An item's recall is the share of its points covered; the task's macro-recall is the mean
of item recalls, so every item weighs the same whatever its number of points.
"""
from __future__ import annotations

from evaluator.benchmark.scoring.normalize import contains_any, normalize


def covered_points(output: str | None, answer_points: list[list[str]]) -> list[bool]:
    """For each answer point, whether ``output`` covers it (the point or one of its synonyms)."""
    text = normalize(output)
    return [contains_any(text, variants) for variants in answer_points]


def recall(covered: list[bool]) -> float | None:
    """Share of points covered; None when the item has no points (only ROUGE-L is reported then)."""
    return sum(covered) / len(covered) if covered else None
