"""The metric interface and registry.

A metric scores one (item, option order) from what the runner stored, and aggregates the outcomes of a task's
items into the task score. Aggregation takes outcomes grouped by item (the K orders of a choice item form one
group) so that bootstrap intervals resample items, not orders.

Metric modules register themselves on import; ``_MODULES`` lists them so that lookups never depend on import order.
Each metric carries its own ``formula`` text, which the Methodology page shows: one definition, on the metric.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from evaluator.benchmark.items import Item
    from evaluator.benchmark.tasks import TaskSpec

_MODULES = ("evaluator.benchmark.scoring.choice", "evaluator.benchmark.scoring.text")


@dataclass
class ItemOutcome:
    """The scoring of one (item, order). ``parsed_answer`` is in original option keys for choice items."""

    parsed_answer: Any = None
    correct: bool | None = None  # None: unscored (no reference) or no verdict
    score: float | None = None  # item-level metric value in [0, 1]
    details: dict[str, Any] = field(default_factory=dict)


class Metric(Protocol):
    name: str
    formula: str  # what the metric computes, in one or two sentences (shown on the Methodology page)

    def score(
        self,
        task: "TaskSpec",
        item: "Item",
        raw_output: str | None,
        letter_scores: dict[str, float] | None,
        permutation: list[str] | None,
    ) -> ItemOutcome:
        """Score one (item, order). ``permutation[i]`` is the original option key shown at letter i. Metrics of
        generated choice, yes/no and cloze answers also take keyword-only ``truncated`` and ``thinking`` (how the
        generation ended, for the answer extractor)."""

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        """The task score from scored items' outcomes (one inner list per item); None when nothing is scored."""


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    _REGISTRY[metric.name] = metric
    return metric


def all_metrics() -> dict[str, Metric]:
    """Every registered metric by name (the metric modules imported first)."""
    for module in _MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def get_metric(name: str) -> Metric:
    if name not in _REGISTRY:
        all_metrics()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered: {', '.join(sorted(_REGISTRY))}") from None
