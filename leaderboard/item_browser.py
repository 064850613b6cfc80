"""The per-question browser and the compare page's disagreements, paged with indexed queries.

Why paged in SQL: a run holds thousands of (item, order) rows and the database millions, so the browser first
selects one page of item ids (a GROUP BY over the run's rows, served by the (run_id, task), (run_id, dimension)
and (run_id, error_primary) indexes) and only then loads the K rows of those items.
Every read goes through the gate ``evaluator.item_access.open_runs``: a private suite's items reach organizers
only, and this module imports no item table (spec section 8).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from evaluator.item_access import OUTCOMES, VISITOR, ItemReader, RowData, Viewer, open_runs
from evaluator.benchmark.tasks import TASKS, Dimension
from leaderboard.labels import CATEGORIES

MAX_PAGE_SIZE = 100
PREVIEW_CHARS = 40  # of the question, in the browser's list: enough to tell items apart at a glance


class BrowseError(ValueError):
    """A filter value the browser does not know; the message lists the accepted ones."""


@dataclass(frozen=True)
class ItemFilter:
    """What the visitor asked to see. ``outcome`` is per item: right = right under every order, wrong = wrong
    under at least one order, unscored = no reference answer (or no verdict)."""

    dimension: str | None = None
    task: str | None = None
    outcome: str = "all"
    tag: str | None = None

    def validate(self) -> None:
        if self.dimension and self.dimension not in {d.value for d in Dimension}:
            raise BrowseError(f"Unknown dimension {self.dimension!r}; use one of "
                              f"{', '.join(d.value for d in Dimension)}.")
        if self.task and self.task not in TASKS:
            raise BrowseError(f"Unknown task {self.task!r}; use one of {', '.join(TASKS)}.")
        if self.task and self.dimension and TASKS[self.task].dimension != self.dimension:
            raise BrowseError(f"Task {self.task} belongs to {TASKS[self.task].dimension.value}, not {self.dimension}.")
        if self.outcome not in OUTCOMES:
            raise BrowseError(f"Unknown outcome {self.outcome!r}; use one of {', '.join(OUTCOMES)}.")
        if self.tag and self.tag not in CATEGORIES:
            raise BrowseError(f"Unknown error tag {self.tag!r}; use one of {', '.join(CATEGORIES)}.")


def tag_text(row: RowData) -> str:
    """The primary error tag with how it was made: 'Omissions (rule:uncovered_points)', '' when untagged."""
    if not row.error_primary:
        return ""
    method = (row.error_tags or {}).get("method")
    return f"{row.error_primary} ({method})" if method else row.error_primary


@dataclass
class ItemView:
    item_id: int
    item_key: str
    task: str
    dimension: str
    passage: str
    question: str
    options: dict[str, str]
    gold: Any  # None: no reference answer, unscored
    answer_points: list[list[str]]
    orders: list[RowData] = field(default_factory=list)  # as the gate reads them (order_index ascending)

    @property
    def preview(self) -> str:
        """The start of the question (or the passage, where the question is empty) on one line."""
        text = " ".join((self.question or self.passage).split())
        return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"

    @property
    def verdict(self) -> str:
        verdicts = [o.correct for o in self.orders]
        if not verdicts or any(v is None for v in verdicts):
            return "unscored"
        return "right" if all(verdicts) else "wrong"


@dataclass
class ItemPage:
    total: int  # items matching the filter
    page: int
    page_size: int
    items: list[ItemView]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def browse_items(session: Session, run_id: int, flt: ItemFilter, page: int = 1, page_size: int = 10, *,
                 viewer: Viewer = VISITOR) -> ItemPage:
    """One page of the run's items matching ``flt``, each with every option order's answer and its tags.
    Raises PrivateItems (through the gate) when ``viewer`` may not read this run's items."""
    flt.validate()
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BrowseError(f"Page must be 1 or more and page size 1–{MAX_PAGE_SIZE}.")
    reader = open_runs(session, [run_id], viewer)
    total, ids = reader.matching_page(run_id, dimension=flt.dimension, task=flt.task, outcome=flt.outcome,
                                      tag=flt.tag, page=page, page_size=page_size)
    return ItemPage(total, page, page_size, load_items(reader, run_id, ids))


def load_items(reader: ItemReader, run_id: int, item_ids: list[int]) -> list[ItemView]:
    """The items ``item_ids`` (in that order) with all their rows in run ``run_id``."""
    if not item_ids:
        return []
    suite_items = reader.items(item_ids)
    views: dict[int, ItemView] = {}
    for item_id in item_ids:
        stored = suite_items.get(item_id)
        data = stored.data if stored else {}
        spec = TASKS.get(data.get("task", ""))
        views[item_id] = ItemView(
            item_id=item_id, item_key=stored.item_key if stored else str(item_id),
            task=data.get("task", ""), dimension=spec.dimension.value if spec else "", passage=data.get("passage", ""),
            question=data.get("question", ""), options=data.get("options") or {}, gold=data.get("answer"),
            answer_points=data.get("answer_points") or [],
        )
    for r in reader.rows(run_id, item_ids):
        views[r.item_id].orders.append(r)
    return [views[i] for i in item_ids]


def tag_counts(session: Session, run_id: int, *, viewer: Viewer = VISITOR) -> dict[str, int]:
    """Rows per primary error tag in one run (what the tag filter can show), via the (run_id, error_primary) index."""
    return open_runs(session, [run_id], viewer).tag_counts(run_id)


@dataclass
class Disagreement:
    item: ItemView
    answers: dict[int, RowData | None]  # run_id -> the answer under the original order


def disagreements(session: Session, run_ids: list[int], page: int = 1, page_size: int = 10,
                  task: str | None = None, *, viewer: Viewer = VISITOR) -> tuple[int, list[Disagreement]]:
    """Items (original option order) that some of the runs got right and others wrong: total and one page."""
    if len(run_ids) < 2:
        return 0, []
    if task and task not in TASKS:
        raise BrowseError(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
    reader = open_runs(session, run_ids, viewer)
    total, ids = reader.disagreeing_page(task, page, page_size)
    per_run = {run_id: {v.item_id: v for v in load_items(reader, run_id, ids)} for run_id in run_ids}
    result = []
    for item_id in ids:
        first = per_run[run_ids[0]][item_id]
        result.append(Disagreement(first, {
            run_id: next((o for o in per_run[run_id][item_id].orders if o.order_index == 0), None)
            for run_id in run_ids
        }))
    return total, result
