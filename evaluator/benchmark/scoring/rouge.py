"""ROUGE-L on characters: the secondary figure of every generative task, and the per-field score of records.

Chinese has no spaces, so the text is compared character by character after :func:`normalize` (the LCS-based
F-measure on characters is also what CMRC-style Chinese QA calls "F1"). The LCS itself comes from Google's
``rouge_score`` package, with a character tokenizer in place of its English word tokenizer.
"""
from __future__ import annotations

from functools import lru_cache

from evaluator.benchmark.scoring.normalize import normalize


class _CharTokenizer:
    """rouge_score's tokenizer interface: one token per character of the normalised text."""

    def tokenize(self, text: str) -> list[str]:
        return list(normalize(text))


@lru_cache(maxsize=1)
def _scorer():  # type: ignore[no-untyped-def]
    """Built on first use: rouge_score imports nltk (about 2 s), which pages that only show definitions skip."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_CharTokenizer())


def rouge_l(candidate: str | None, reference: str | None) -> float:
    """ROUGE-L F-measure of ``candidate`` against ``reference`` on normalised characters, in [0, 1]."""
    if not normalize(candidate) or not normalize(reference):
        return 0.0
    return float(_scorer().score(reference, candidate)["rougeL"].fmeasure)
