"""A run's progress while it executes: per-task counts and the time left, kept up to date chunk by chunk.

Why a model of the time left rather than one rate: a generated answer (open-ended, extraction, DDx) costs tens of
letter-scored questions, and a run's first chunks are often all generation. One rate over all units then showed
"30 min" for a run that finished in 4. Here every unit has a weight in letter-question equivalents (a
letter-scored (item, order) is 1; a generation is ``max_new_tokens * GENERATION_STEP_WEIGHT``, a prior), the
measured seconds per weight of each mode replace the prior as soon as that mode has run, and a mode not seen
yet is priced at the seen modes' rate.

Counts are updated from each committed chunk only, never by walking the whole plan again: a MedBench-sized run
has 1.5 million (item, order) units and a thousand or more chunks.
"""
from __future__ import annotations

import time
from collections import defaultdict

from evaluator.engine.spec import RunSpec
from evaluator.engine.units import WorkUnit, progress_detail
GENERATION_STEP_WEIGHT = 1 / 8  # prior: one decoding step of one answer ≈ 1/8 of a letter-scored question


def unit_cost(spec: RunSpec, unit: WorkUnit) -> tuple[str, float]:
    """(mode, weight in letter-question equivalents) of one unit under the prior."""
    if spec.letter_scored(unit.task):
        return "letters", 1.0
    return "generate", max(1.0, spec.max_new_tokens_for(unit.task) * GENERATION_STEP_WEIGHT)


class RunProgress:
    """Per-task [done, planned] counts and the seconds left, for one executing run."""

    def __init__(self, spec: RunSpec, units: list[WorkUnit], done: set[tuple[int, int]]):
        self.spec = spec
        self.detail = progress_detail(units, done)
        self.remaining: dict[str, float] = defaultdict(float)  # weight not yet done, per mode
        self.seconds: dict[str, float] = defaultdict(float)  # measured, per mode
        self.weight_done: dict[str, float] = defaultdict(float)  # measured, per mode
        for unit in units:
            if (unit.suite_item_id, unit.order_index) not in done:
                mode, weight = unit_cost(spec, unit)
                self.remaining[mode] += weight
        self.last = time.monotonic()

    def record(self, chunk: list[WorkUnit], done: set[tuple[int, int]], now: float | None = None) -> None:
        """Count a committed chunk (units in ``done`` already counted are skipped) and the time it took since the
        previous record; its seconds are shared among its modes by weight."""
        now = time.monotonic() if now is None else now
        elapsed, self.last = now - self.last, now
        weights: dict[str, float] = defaultdict(float)
        for unit in chunk:
            key = (unit.suite_item_id, unit.order_index)
            if key in done:
                continue
            done.add(key)
            self.detail[unit.task.name][0] += 1
            mode, weight = unit_cost(self.spec, unit)
            weights[mode] += weight
            self.remaining[mode] -= weight
        total = sum(weights.values())
        for mode, weight in weights.items():
            self.weight_done[mode] += weight
            self.seconds[mode] += elapsed * weight / total

    @property
    def done_count(self) -> int:
        """Units done so far (derived from the per-task counts: a handful of tasks)."""
        return sum(count for count, _ in self.detail.values())

    def seconds_left(self) -> float | None:
        """Estimated seconds to finish; None before any chunk was measured."""
        measured = sum(self.weight_done.values())
        if not measured:
            return None
        overall = sum(self.seconds.values()) / measured
        return sum(max(weight, 0.0) * (self.seconds[mode] / self.weight_done[mode] if self.weight_done.get(mode)
                                       else overall)
                   for mode, weight in self.remaining.items())
