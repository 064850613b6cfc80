"""Reference lines that give a task score meaning: the score of a random guesser (chance level) and, for
exam-style tasks, the pass line of the real exam (``TaskSpec.pass_line``).

Chance is computed from the suite's items, because it depends on each item's option count and on how many option
orders the run asked (K, but at most n! for n options, as :func:`evaluator.benchmark.permutations.option_orders` does):

- single choice and yes/no (accuracy over (item, order) pairs): a guess is right with probability 1/n under each
  order, so chance = sum_i k_i / n_i / sum_i k_i (the mean of 1/n over the pairs; 1/2 for yes/no);
- strict accuracy (right under all k_i orders, guessed independently): the mean over items of (1/n_i)^k_i;
- multi choice, exact set: a guess is one of the 2^n - 1 non-empty subsets, chance = mean over the pairs of
  1/(2^n_i - 1) (strict: the mean of that to the power k_i);
- cloze, classification, extraction, records, open answers: no chance level (a guesser has no defined space of
  answers, or the metric is not a share of right picks).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from evaluator.benchmark.permutations import DEFAULT_K
from evaluator.tables import SuiteItem, SuiteTask
from evaluator.benchmark.tasks import TASKS, Kind

CHANCE_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.MULTI_CHOICE})


@dataclass(frozen=True)
class ReferenceLine:
    """A task's reference lines on its score scale (None where the task has none); the leaderboard says them in
    words (``leaderboard.labels.reference_help``, in the page's language)."""

    task: str
    chance: float | None  # expected task score of a random guesser
    strict_chance: float | None  # expected strict accuracy (right under all orders) of a random guesser
    pass_line: float | None
    pass_line_source: str


def default_k() -> int:
    """The K a run asks under unless its spec says otherwise (``RunSpec.k``'s default)."""
    return DEFAULT_K


def _orders(n: int, k: int) -> int:
    return min(k, math.factorial(n)) if n else 1


def chance_level(kind: str, option_counts: Sequence[int], k: int) -> tuple[float | None, float | None]:
    """(chance of the task score, chance of strict accuracy) of a random guesser over items with these option
    counts asked under up to ``k`` orders each; (None, None) for kinds without a chance level or no items."""
    counts = [n for n in option_counts if n > 0]
    if kind not in CHANCE_KINDS or not counts:
        return None, None
    per_order = [1 / n if kind != Kind.MULTI_CHOICE else 1 / (2 ** n - 1) for n in counts]
    orders = [_orders(n, k) for n in counts]
    chance = sum(p * o for p, o in zip(per_order, orders)) / sum(orders)
    strict = sum(p ** o for p, o in zip(per_order, orders)) / len(counts)
    return chance, strict


def suite_reference_lines(session: Session, suite_id: int, k: int) -> dict[str, ReferenceLine]:
    """Reference lines of every registered task present in the suite, from its scored items' option counts."""
    tasks_present = set(session.execute(select(SuiteTask.name).where(SuiteTask.suite_id == suite_id)).scalars())
    chance_tasks = [t for t in tasks_present if t in TASKS and TASKS[t].kind in CHANCE_KINDS]
    counts: dict[str, list[int]] = {}
    rows = session.execute(select(SuiteItem.task, SuiteItem.data).where(SuiteItem.suite_id == suite_id,
                                                                        SuiteItem.task.in_(chance_tasks))).all()
    for task, data in rows:
        if (data or {}).get("answer") is not None:  # unscored items count in no score
            counts.setdefault(task, []).append(len(data.get("options") or {}))
    lines = {}
    for name in (t for t in TASKS if t in tasks_present):
        spec = TASKS[name]
        chance, strict = chance_level(spec.kind, counts.get(name, []), k)
        lines[name] = ReferenceLine(name, chance, strict, spec.pass_line, spec.pass_line_source)
    return lines
