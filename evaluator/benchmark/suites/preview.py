"""What an import would do, without writing anything: counts per dimension and task, problems, the version.

The CLI's ``--dry-run`` and the organizer page show this before an organizer commits an import.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from evaluator.benchmark.suites.reader import read_suite
from evaluator.benchmark.suites.version import suite_version
from evaluator.tables import Suite
from evaluator.benchmark.tasks import DIMENSION_LABELS, TASKS


@dataclass(frozen=True)
class TaskCount:
    dimension: str
    task: str
    kind: str
    items: int
    scored: int


@dataclass
class SuitePreview:
    """The outcome of reading a suite: ``ok`` only when there is at least one item and no problem."""

    source: str
    version: str | None
    tasks: list[TaskCount] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    existing_suite_id: int | None = None  # a suite with this version is already stored

    @property
    def ok(self) -> bool:
        return not self.problems and self.item_count > 0

    @property
    def item_count(self) -> int:
        return sum(t.items for t in self.tasks)

    @property
    def scored_count(self) -> int:
        return sum(t.scored for t in self.tasks)

    def by_dimension(self) -> dict[str, int]:
        """Items per dimension, every dimension listed (0 where the suite has none)."""
        counts = Counter({dimension.value: 0 for dimension in DIMENSION_LABELS})
        for row in self.tasks:
            counts[row.dimension] += row.items
        return dict(counts)

    def table(self) -> list[dict[str, object]]:
        """One row per task in registry order, for a dataframe or a printed table."""
        return [{"dimension": t.dimension, "task": t.task, "kind": t.kind, "items": t.items, "scored": t.scored}
                for t in self.tasks]


def preview_suite(path: str | Path, *, fmt: str = "auto", task: str | None = None,
                  session: Session | None = None) -> SuitePreview:
    """Read ``path`` as :func:`evaluator.benchmark.suites.importer.import_suite` would, and report; writes nothing."""
    loaded = read_suite(path, fmt=fmt, task=task)
    items = loaded.plain_items
    totals = Counter(i.task for i in items if i.task in TASKS)
    scored = Counter(i.task for i in items if i.task in TASKS and i.scored)
    rows = [TaskCount(spec.dimension.value, name, spec.kind.value, totals[name], scored[name])
            for name, spec in TASKS.items() if totals[name]]
    version = suite_version(items) if items and not loaded.problems else None
    existing = None
    if version and session is not None:
        existing = session.exec(select(Suite.id).where(Suite.version == version)).first()
    return SuitePreview(source=str(path), version=version, tasks=rows, problems=[str(p) for p in loaded.problems],
                        formats=loaded.formats, skipped=loaded.skipped, existing_suite_id=existing)
