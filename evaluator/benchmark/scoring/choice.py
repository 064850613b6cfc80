"""Choice metrics: accuracy (single choice, yes/no), exact_set_accuracy (multi-choice DDx), cloze_accuracy (MedHG).

Every outcome keeps the chosen and the correct answer in *shown* letters as well (``details``), so position
bias can be computed from stored rows alone, and ``parsed_answer`` in *original* option keys, so answers given
under different orders can be compared (robustness). A row without a usable answer (failed item, nothing
extractable) counts as wrong on a scored item: a model never gains from crashing.

Generated answers are read by the one answer extractor, :func:`evaluator.benchmark.scoring.extract.extract`; its verdict is
kept in ``details``: ``rule`` (the rule that decided), ``extraction`` (``answer`` or why there is none:
``no_answer``, ``several_answers``, ``refusal``, ``truncated``, ``empty``) and ``invalid_letters`` (letters
written that were not shown). The error taxonomy reads them. ``truncated`` (the generation hit its budget) and
``thinking`` (the reasoning block was never closed) come from ``evaluator.engine.scoring._score_rows``, which reads the
stored finish reason. Letter log-prob scoring (the ``logprob`` protocol) is untouched.
"""
from __future__ import annotations

from typing import Any

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import shown_letters, to_original, to_shown
from evaluator.benchmark.scoring.base import ItemOutcome, register_metric
from evaluator.benchmark.scoring.extract import Extraction, extract
from evaluator.benchmark.tasks import TaskSpec


def _verdict(result: Extraction) -> dict[str, Any]:
    """The extractor's verdict as row details."""
    details: dict[str, Any] = {"rule": result.rule, "extraction": result.reason or "answer"}
    if result.invalid_letters:
        details["invalid_letters"] = list(result.invalid_letters)
    return details


def extract_choice(task: TaskSpec, item: Item, raw_output: str, permutation: list[str], *, truncated: bool = False,
                   thinking: bool = False) -> tuple[list[str], dict]:
    """Shown letters of a generated choice answer (``permutation[i]`` is the original key shown at letter i);
    ``truncated``/``thinking`` as for :func:`~evaluator.benchmark.scoring.extract.extract`."""
    letters = shown_letters(len(permutation))
    result = extract(raw_output, task.kind, letters, [item.options[key] for key in permutation],
                     truncated=truncated, thinking=thinking)
    return list(result.answer), _verdict(result)


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _answer_keys(item: Item) -> list[str] | None:
    if item.answer is None:
        return None
    answer = item.answer if isinstance(item.answer, list) else [item.answer]
    return sorted(str(a) for a in answer)


class AccuracyMetric:
    """Single choice and yes/no: the best-scored shown letter (or, for generated output, the extracted letter)."""

    name = "accuracy"
    formula = ("share of (question, option order) pairs answered with the right option: the extracted answer "
               "(generate protocol) or the best-scored letter (logprob protocol)")

    def score(self, task: TaskSpec, item: Item, raw_output: str | None, letter_scores: dict[str, float] | None,
              permutation: list[str] | None, *, truncated: bool = False, thinking: bool = False) -> ItemOutcome:
        perm = list(permutation or item.options)
        details: dict[str, Any] = {}
        chosen: list[str] = []
        if letter_scores:
            ranked = sorted(letter_scores.items(), key=lambda kv: kv[1], reverse=True)
            chosen = [ranked[0][0]]
            details["margin"] = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else None
            details["rule"] = "letter_logprob"
        elif raw_output is not None:
            chosen, details = extract_choice(task, item, raw_output, perm, truncated=truncated, thinking=thinking)
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
              permutation: list[str] | None, *, truncated: bool = False, thinking: bool = False) -> ItemOutcome:
        perm = list(permutation or item.options)
        chosen, details = extract_choice(task, item, raw_output, perm, truncated=truncated,
                                         thinking=thinking) if raw_output is not None else (
            [], {"rule": "no_output"})
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
    """Cloze (MedHG): the candidate the answer names must be an acceptable answer.

    Naming several departments to hedge is wrong (the extractor says ``several_answers``); an acceptable synonym
    not in the candidate list is right.
    """

    name = "cloze_accuracy"
    formula = ("share of answers that name at least one acceptable gold string (e.g. 心内科 / 心血管内科) and no "
               "candidate outside them (hedging with several departments is wrong)")

    def score(self, task: TaskSpec, item: Item, raw_output: str | None, letter_scores: dict[str, float] | None,
              permutation: list[str] | None, *, truncated: bool = False, thinking: bool = False) -> ItemOutcome:
        from evaluator.benchmark.prompts import candidates_of

        gold = [str(a) for a in item.answer] if isinstance(item.answer, list) else (
            [str(item.answer)] if item.answer is not None else None)
        shown = list(permutation) if permutation else candidates_of(item)
        phrases = shown + [g for g in gold or [] if g not in shown]  # an accepted synonym may be written too
        result = extract(raw_output or "", task.kind, [], phrases, truncated=truncated, thinking=thinking)
        named = list(result.answer)
        details = {**_verdict(result), "named": named}
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
