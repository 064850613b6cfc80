"""From item outcomes to task, dimension and overall figures (spec sections 1 and 3), with bootstrap intervals.

Inputs are outcomes grouped by item: ``groups[i]`` holds the K orders of item i (one outcome for kinds asked
once). Definitions (spec section 3, fixed here where MedBench publishes no formula):

- accuracy: mean correctness over all (item, order) pairs of scored items;
- strict accuracy: share of scored items correct under every order (OpenCompass "perf_circular");
- robustness (consistency): share of items (scored or not) asked under at least two orders that have a readable
  answer under every order and whose mapped-back answers are identical under all of them, right or wrong. An item
  with no readable answer under one or more orders (nothing extracted, a refusal, a failed row) is not robust: it
  can never count as "consistently unanswered". ``answered_every_order`` is the share of those items that have a
  readable answer under every order, so a reader can tell consistency from coverage;
- position bias: per shown letter, the share of rows that chose it against the share of rows where it is
  correct (a multi-choice row counts every letter of its set).

Intervals are 95% percentile bootstraps over items (never over orders, which are not independent), stratified by
task: a dimension replicate resamples every task's items and averages the task scores, the overall replicate
averages the dimension replicates. The generator is seeded with the run's seed, so intervals are reproducible.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluator.benchmark.scoring.base import ItemOutcome

BOOTSTRAP_SAMPLES = 1000
Groups = list[list[ItemOutcome]]


def _answer_key(outcome: ItemOutcome) -> str:
    return json.dumps(outcome.parsed_answer, sort_keys=True, ensure_ascii=False)


def accuracy(groups: Groups) -> float | None:
    values = [o.score for g in groups for o in g if o.correct is not None and o.score is not None]
    return float(np.mean(values)) if values else None


def strict_accuracy(groups: Groups) -> float | None:
    scored = [g for g in groups if g and all(o.correct is not None for o in g)]
    return float(np.mean([all(o.correct for o in g) for g in scored])) if scored else None


def _readable(outcome: ItemOutcome) -> bool:
    return outcome.parsed_answer not in (None, "", [], {})


def robustness(groups: Groups) -> float | None:
    """Spec section 3: identical readable answers under every order (see the module docstring)."""
    asked_twice = [g for g in groups if len(g) >= 2]
    if not asked_twice:
        return None
    return float(np.mean([all(_readable(o) for o in g) and len({_answer_key(o) for o in g}) == 1
                          for g in asked_twice]))


def answered_every_order(groups: Groups) -> float | None:
    """Share of items asked under at least two orders that have a readable answer under every one of them."""
    asked_twice = [g for g in groups if len(g) >= 2]
    if not asked_twice:
        return None
    return float(np.mean([all(_readable(o) for o in g) for g in asked_twice]))


def position_bias(groups: Groups) -> dict[str, dict[str, float]]:
    """{shown letter: {"chosen": share of rows choosing it, "correct": share of scored rows where it is right}}."""
    rows = [o for g in groups for o in g]
    scored = [o for o in rows if o.correct is not None]
    letters = sorted({x for o in rows for x in (o.details.get("chosen_shown") or [])}
                     | {x for o in scored for x in (o.details.get("correct_shown") or [])})
    return {
        letter: {
            "chosen": sum(letter in (o.details.get("chosen_shown") or []) for o in rows) / len(rows),
            "correct": (sum(letter in (o.details.get("correct_shown") or []) for o in scored) / len(scored))
            if scored else 0.0,
        }
        for letter in letters
    }


def mean_jaccard(groups: Groups) -> float | None:
    values = [o.details["jaccard"] for g in groups for o in g if "jaccard" in o.details]
    return float(np.mean(values)) if values else None


def choice_extras(groups: Groups, multi: bool = False) -> dict[str, Any]:
    """The robustness figures a choice task's ``TaskScore.extras`` holds."""
    extras: dict[str, Any] = {
        "accuracy": accuracy(groups),
        "strict_accuracy": strict_accuracy(groups),
        "robustness": robustness(groups),
        "answered_every_order": answered_every_order(groups),
        "position_bias": position_bias(groups),
        "orders_per_item": max((len(g) for g in groups), default=0),
    }
    if multi:
        extras["jaccard"] = mean_jaccard(groups)
    return extras


@dataclass
class TaskFigures:
    """What the bootstrap needs of one task: its scored groups and how to score a resample of them."""

    name: str
    dimension: str
    groups: Groups
    aggregate: Callable[[Groups], float | None]
    mean_of_scores: bool = False  # aggregate == mean of row scores: resampled with numpy, no Python loop
    _sums: np.ndarray = field(init=False, repr=False)
    _counts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sums = np.array([sum(o.score or 0.0 for o in g) for g in self.groups], dtype=float)
        self._counts = np.array([len(g) for g in self.groups], dtype=float)

    def replicates(self, rng: np.random.Generator, samples: int) -> np.ndarray:
        """``samples`` bootstrap values of this task's score (items resampled with replacement)."""
        n = len(self.groups)
        index = rng.integers(0, n, size=(samples, n))
        if self.mean_of_scores:
            return self._sums[index].sum(axis=1) / np.maximum(self._counts[index].sum(axis=1), 1)
        values = [self.aggregate([self.groups[i] for i in row]) for row in index]
        return np.array([np.nan if v is None else v for v in values], dtype=float)


def percentile_ci(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class Interval:
    score: float | None
    ci_low: float | None
    ci_high: float | None


def bootstrap_scores(tasks: Sequence[TaskFigures], seed: int, samples: int = BOOTSTRAP_SAMPLES
                     ) -> tuple[dict[str, Interval], dict[str, Interval], Interval]:
    """Task, dimension and overall scores with stratified bootstrap intervals.

    A dimension's score is the mean of its task scores; the overall score is the mean of the dimension scores
    present (the caller records which dimensions those are).
    """
    rng = np.random.default_rng(seed)
    task_points: dict[str, float] = {}
    task_reps: dict[str, np.ndarray] = {}
    task_out: dict[str, Interval] = {}
    for task in tasks:
        point = task.aggregate(task.groups) if task.groups else None
        if point is None:
            continue
        reps = task.replicates(rng, samples)
        task_points[task.name], task_reps[task.name] = point, reps
        task_out[task.name] = Interval(point, *percentile_ci(reps))
    dims: dict[str, list[str]] = {}
    for task in tasks:
        if task.name in task_points:
            dims.setdefault(task.dimension, []).append(task.name)
    dim_out: dict[str, Interval] = {}
    dim_reps: dict[str, np.ndarray] = {}
    for dim, names in dims.items():
        dim_reps[dim] = np.mean([task_reps[n] for n in names], axis=0)
        dim_out[dim] = Interval(float(np.mean([task_points[n] for n in names])), *percentile_ci(dim_reps[dim]))
    if dim_out:
        overall_reps = np.mean(list(dim_reps.values()), axis=0)
        overall = Interval(float(np.mean([d.score for d in dim_out.values()])), *percentile_ci(overall_reps))
    else:
        overall = Interval(None, None, None)
    return task_out, dim_out, overall
