"""Choice metrics: accuracy (single choice, yes/no), exact_set_accuracy (multi-choice DDx), cloze_accuracy (MedHG).

Every outcome keeps the chosen and the correct answer in *shown* letters as well (``details``), so position
bias can be computed from stored rows alone, and ``parsed_answer`` in *original* option keys, so answers given
under different orders can be compared (robustness). A row without a usable answer (failed item, nothing
parsable) counts as wrong on a scored item: a model never gains from crashing.

Answer extraction for generated choices, in order of preference:
1. the text after the last "答案" marker ("答案：A、C", "答案是AC");
2. an output that is letters only ("AC", "A, C", "A和C");
3. standalone capital letters (not inside Latin words such as "DDx") in the last line that has any;
4. option texts written out instead of letters.
Letters are de-duplicated in order; letters outside the shown options are reported as ``invalid_letters``.
"""
from __future__ import annotations

import re
from typing import Any

from evaluator.items import Item
from evaluator.permutations import shown_letters, to_original, to_shown
from evaluator.scoring.base import ItemOutcome, register_metric
from evaluator.tasks import TaskSpec

ANSWER_MARKER = re.compile(r"(?:正确)?答案\s*(?:是|为|应为|选)?\s*[:：]?")
LETTER_ONLY = re.compile(r"^[\sA-Z,，、;；/和及与]+$")
STANDALONE_LETTER = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")
PUNCT = re.compile(r"[\s。，,、；;：:！!？?\"'“”‘’（）()【】\[\]《》<>]+")


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def answer_segment(text: str) -> tuple[str, str]:
    """The part of ``text`` that holds the answer and the rule that found it."""
    markers = list(ANSWER_MARKER.finditer(text))
    if markers:
        tail = text[markers[-1].end():].strip()
        if tail:
            return tail.splitlines()[0], "answer_line"
    return text.strip(), "whole_output"


def non_overlapping_mentions(text: str, phrases: list[str]) -> list[str]:
    """Phrases found in ``text``, longest first, never two on overlapping spans, in order of appearance."""
    taken: list[tuple[int, int, str]] = []
    for phrase in sorted({p for p in phrases if p}, key=len, reverse=True):
        for match in re.finditer(re.escape(phrase), text):
            span = (match.start(), match.end())
            if all(span[1] <= s or span[0] >= e for s, e, _ in taken):
                taken.append((*span, phrase))
    return _dedupe([p for _, _, p in sorted(taken)])


def extract_letters(text: str | None, letters: list[str], option_texts: list[str] | None = None
                    ) -> tuple[list[str], dict[str, Any]]:
    """Shown letters named in a generated answer, and how they were found (see the module docstring)."""
    if not text or not text.strip():
        return [], {"rule": "empty"}
    segment, where = answer_segment(text)
    found: list[str] = []
    rule = where
    if LETTER_ONLY.match(segment):
        found = [c for c in segment if "A" <= c <= "Z"]
        rule = f"{where}:letters_only"
    else:
        lines = [line for line in segment.splitlines() if STANDALONE_LETTER.search(line)]
        if lines:
            found = STANDALONE_LETTER.findall(lines[-1] if where == "whole_output" else segment)
            rule = f"{where}:standalone_letters"
    valid = _dedupe([c for c in found if c in letters])
    invalid = _dedupe([c for c in found if c not in letters])
    if not valid and option_texts:
        named = non_overlapping_mentions(segment, option_texts)
        valid = [letters[option_texts.index(t)] for t in named]
        if valid:
            rule = f"{where}:option_text"
    details: dict[str, Any] = {"rule": rule}
    if invalid:
        details["invalid_letters"] = invalid
    return valid, details


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _answer_keys(item: Item) -> list[str] | None:
    if item.answer is None:
        return None
    answer = item.answer if isinstance(item.answer, list) else [item.answer]
    return sorted(str(a) for a in answer)


class AccuracyMetric:
    """Single choice and yes/no: the best-scored shown letter (or, for generated output, the first letter)."""

    name = "accuracy"
    formula = "share of (question, option order) pairs answered with the right letter (next-token letter scores)"

    def score(self, task: TaskSpec, item: Item, raw_output: str | None, letter_scores: dict[str, float] | None,
              permutation: list[str] | None) -> ItemOutcome:
        perm = list(permutation or item.options)
        letters = shown_letters(len(perm))
        details: dict[str, Any] = {}
        chosen: list[str] = []
        if letter_scores:
            ranked = sorted(letter_scores.items(), key=lambda kv: kv[1], reverse=True)
            chosen = [ranked[0][0]]
            details["margin"] = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else None
            details["rule"] = "letter_logprob"
        elif raw_output:
            named, details = extract_letters(raw_output, letters, [item.options[k] for k in perm])
            chosen = named[:1]
        else:
            details["rule"] = "no_output"
        parsed = to_original(chosen, perm) if chosen else None
        answer = _answer_keys(item)
        details["chosen_shown"] = chosen
        if answer is not None:
            details["correct_shown"] = to_shown(answer, perm)
        correct = None if answer is None else parsed == answer
        return ItemOutcome(parsed, correct, None if correct is None else float(correct), details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        values = [o.score for g in groups for o in g if o.score is not None]
        return sum(values) / len(values) if values else None


class ExactSetAccuracyMetric:
    """Multi-choice (DDx): the extracted letter set must equal the answer set; Jaccard is kept in details."""

    name = "exact_set_accuracy"
    formula = ("share of (question, order) pairs whose chosen set of letters equals the gold set; Jaccard "
               "|chosen ∩ gold| / |chosen ∪ gold| reported beside it")

    def score(self, task: TaskSpec, item: Item, raw_output: str | None, letter_scores: dict[str, float] | None,
              permutation: list[str] | None) -> ItemOutcome:
        perm = list(permutation or item.options)
        letters = shown_letters(len(perm))
        chosen, details = extract_letters(raw_output, letters, [item.options[k] for k in perm])
        parsed = sorted(to_original(chosen, perm)) if chosen else None
        answer = _answer_keys(item)
        details["chosen_shown"] = sorted(chosen)
        if answer is None:
            return ItemOutcome(parsed, None, None, details)
        details["correct_shown"] = sorted(to_shown(answer, perm))
        details["jaccard"] = jaccard(set(parsed or []), set(answer))
        correct = parsed == answer
        return ItemOutcome(parsed, correct, float(correct), details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        values = [o.score for g in groups for o in g if o.score is not None]
        return sum(values) / len(values) if values else None


class ClozeAccuracyMetric:
    """Cloze (MedHG): the candidates named in the answer must all be acceptable answers (and at least one).

    Naming several departments to hedge is wrong; an acceptable synonym not in the candidate list is right.
    """

    name = "cloze_accuracy"
    formula = ("share of answers that name at least one acceptable gold string (e.g. 心内科 / 心血管内科) and no "
               "candidate outside them (hedging with several departments is wrong)")

    def score(self, task: TaskSpec, item: Item, raw_output: str | None, letter_scores: dict[str, float] | None,
              permutation: list[str] | None) -> ItemOutcome:
        from evaluator.prompts import candidates_of

        gold = [str(a) for a in item.answer] if isinstance(item.answer, list) else (
            [str(item.answer)] if item.answer is not None else None)
        segment, rule = answer_segment(raw_output or "")
        phrases = candidates_of(item) + (gold or [])
        named = non_overlapping_mentions(PUNCT.sub(" ", segment), phrases) if segment else []
        details: dict[str, Any] = {"rule": rule if segment else "empty", "named": named}
        parsed = named or None
        if gold is None:
            return ItemOutcome(parsed, None, None, details)
        correct = bool(named) and all(n in gold for n in named)
        return ItemOutcome(parsed, correct, float(correct), details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        values = [o.score for g in groups for o in g if o.score is not None]
        return sum(values) / len(values) if values else None


for _metric in (AccuracyMetric(), ExactSetAccuracyMetric(), ClozeAccuracyMetric()):
    register_metric(_metric)
