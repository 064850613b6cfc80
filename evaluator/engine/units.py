"""A run's work: the (item, order) units its spec selects, their commit chunks and per-task counts, and creating a
run with its two specs.

Why apart from execution: the planner estimates, progress counts and the Ray driver shards the same units the
executor runs, from the spec alone; none of them needs a runner. Everything here follows from ``RunSpec`` (tasks,
limits, K, seed) and the suite's items.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from evaluator import EVALUATOR_VERSION
from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import item_orders
from evaluator.benchmark.prompts import candidates_of
from evaluator.benchmark.suites.importer import load_items
from evaluator.benchmark.tasks import TASKS, TaskSpec, get_task
from evaluator.engine.spec import RunSpec, RunSpecError, build_specs
from evaluator.tables import EvalRun, Suite, SuiteItem
from submissions.tables import ModelEntry


@dataclass
class WorkUnit:
    """One (item, order) to run."""

    suite_item_id: int
    item: Item
    task: TaskSpec
    order_index: int
    permutation: list[str]


def selected_items(session: Session, spec: RunSpec, suite_id: int) -> list[tuple[SuiteItem, Item]]:
    """The suite's items this run covers (its tasks, the first ``limit_per_task`` of each), in suite order."""
    return select_items(spec, load_items(session, suite_id))


def select_items(spec: RunSpec, items: list[tuple[SuiteItem, Item]]) -> list[tuple[SuiteItem, Item]]:
    """:func:`selected_items` on items already loaded."""
    seen: dict[str, int] = defaultdict(int)
    chosen = []
    for row, item in items:
        if item.task not in TASKS or (spec.tasks is not None and item.task not in spec.tasks):
            continue
        if spec.limit_per_task is not None and seen[item.task] >= spec.limit_per_task:
            continue
        seen[item.task] += 1
        chosen.append((row, item))
    return chosen


def plan_units(items: list[tuple[SuiteItem, Item]], spec: RunSpec) -> list[WorkUnit]:
    """Every (item, order) of the run, an item's orders adjacent (their prompts share a prefix)."""
    units = []
    for row, item in items:
        task = get_task(item.task)
        seed = spec.seed if spec.permutation_seed is None else spec.permutation_seed
        orders = item_orders(task.kind, item.options, candidates_of(item), spec.k, seed, item.id)
        units += [WorkUnit(row.id, item, task, i, perm) for i, perm in enumerate(orders)]
    return units


def chunk_units(units: list[WorkUnit], items_per_chunk: int) -> list[list[WorkUnit]]:
    """Split units into commit chunks of ``items_per_chunk`` items, never splitting an item's orders."""
    chunks: list[list[WorkUnit]] = []
    current: list[WorkUnit] = []
    seen: set[int] = set()
    for unit in units:
        if unit.suite_item_id not in seen and len(seen) == items_per_chunk:
            chunks.append(current)
            current, seen = [], set()
        seen.add(unit.suite_item_id)
        current.append(unit)
    if current:
        chunks.append(current)
    return chunks


def progress_detail(units: list[WorkUnit], done: set[tuple[int, int]]) -> dict[str, list[int]]:
    """Per task, [units done, units planned]: the runs page shows how far each task got."""
    detail: dict[str, list[int]] = {}
    for unit in units:
        entry = detail.setdefault(unit.task.name, [0, 0])
        entry[1] += 1
        entry[0] += (unit.suite_item_id, unit.order_index) in done
    return detail


def create_run(session: Session, model: ModelEntry, suite: Suite, *, submission_id: int | None = None,
               priority: int = 0, **spec_overrides: Any) -> EvalRun:
    """A pending run of ``model`` on ``suite`` with its run spec and execution spec (flushed, not committed).

    Raises RunSpecError for unknown settings, bad values, tasks missing from the suite or an empty selection.
    """
    if model.id is None or suite.id is None:
        raise RunSpecError("model and suite must be saved before a run is created")
    items = load_items(session, suite.id)
    spec, execution = build_specs(model, suite, {item.task for _, item in items}, **spec_overrides)
    units = plan_units(select_items(spec, items), spec)
    if not units:
        raise RunSpecError(f"suite {suite.name!r} has no items for this run")
    run = EvalRun(submission_id=submission_id, model_id=model.id, suite_id=suite.id, suite_version=suite.version,
                  run_spec=spec.model_dump(mode="json"), execution_spec=execution.model_dump(mode="json"),
                  protocol=spec.protocol, evaluator_version=EVALUATOR_VERSION, status="pending",
                  priority=priority, progress_total=len(units), progress_detail=progress_detail(units, set()))
    session.add(run)
    session.flush()
    return run
