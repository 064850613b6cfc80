"""The one gate to item-level data for pages anyone can open (spec section 8).

Item-level data is everything below a score: a question, its options, reference answer and answer points
(``SuiteItem``), and per (item, order) the prompt, raw output, reasoning, parsed answer, verdict and tags
(``ItemResult``). Public code reads it only through :func:`open_runs`, which knows the suites' visibility and
the viewer's role: for a private suite it raises :class:`PrivateItems` unless the viewer is an organizer, and
otherwise hands out an :class:`ItemReader` whose methods hold every item query the public pages need.

Why structural: a check each page had to remember would be forgotten by the next page. The leaderboard package
imports neither table (``tests/leaderboard/test_item_gate.py`` fails when it does), so the reader is its only way
to the rows, and the reader exists only after the check.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlmodel import Session

from evaluator.benchmark.suites.visibility import PUBLIC
from evaluator.tables import EvalRun, ItemResult, Suite, SuiteItem

OUTCOMES: tuple[str, ...] = ("all", "right", "wrong", "unscored")


@dataclass(frozen=True)
class Viewer:
    """Who is looking. Only organizers read a private suite's items; a submitter, even of the evaluated model,
    reads what any visitor reads (the model's owner could otherwise harvest the test set through a submission)."""

    organizer: bool = False


VISITOR = Viewer()
ORGANIZER = Viewer(organizer=True)


def private_notice(suite_name: str) -> str:
    """The one line public pages show where item-level data of a private suite would be."""
    return (f"Suite “{suite_name}” is a private test set: its questions, answers, prompts and model outputs are "
            "not published, only aggregate scores (see Methodology).")


class PrivateItems(PermissionError):
    """The viewer may not read the items of these runs: a run is on a private suite. The message is
    :func:`private_notice` (one line, no item data)."""

    def __init__(self, suite_name: str) -> None:
        self.suite_name = suite_name
        super().__init__(private_notice(suite_name))


class UnknownRun(LookupError):
    """A run id that names no run."""


def open_runs(session: Session, run_ids: list[int], viewer: Viewer) -> ItemReader:
    """The gate: an :class:`ItemReader` over ``run_ids`` when ``viewer`` may read their items; PrivateItems when a
    run is on a private suite and the viewer is no organizer; UnknownRun for an id that names no run."""
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    found = dict(session.execute(select(EvalRun.id, Suite.visibility).join(Suite, Suite.id == EvalRun.suite_id)
                                 .where(EvalRun.id.in_(ids))).all())
    missing = [r for r in ids if r not in found]
    if missing:
        raise UnknownRun(f"There is no run {missing[0]}.")
    if not viewer.organizer:
        private = session.execute(select(Suite.name).join(EvalRun, EvalRun.suite_id == Suite.id)
                                  .where(EvalRun.id.in_(ids), Suite.visibility != PUBLIC)).scalars().first()
        if private is not None:
            raise PrivateItems(private)
    return ItemReader(session, ids, _GATE)


_GATE = object()  # only open_runs holds it: an ItemReader built elsewhere is refused


@dataclass(frozen=True)
class ItemData:
    """One suite item as stored: its key, task and the project item format (evaluator.benchmark.items.Item as a dict)."""

    item_id: int
    item_key: str
    task: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RowData:
    """One (item, order) of a run: what was asked and what came back."""

    run_id: int
    item_id: int
    task: str
    order_index: int
    permutation: list[str]
    prompt: str
    raw_output: str | None
    parsed_answer: Any
    correct: bool | None
    score: float | None
    letter_scores: dict[str, Any]
    details: dict[str, Any]
    error_primary: str | None
    error_tags: dict[str, Any]
    status: str
    error_message: str | None
    reasoning: str | None = None  # a reasoning model's reasoning, stored apart from its answer
    generation: dict[str, Any] | None = None  # finish reason and token counts (generate protocol)


def _row(r: ItemResult) -> RowData:
    return RowData(r.run_id, r.item_id, r.task, r.order_index, list(r.permutation or []), r.prompt, r.raw_output,
                   r.parsed_answer, r.correct, r.score, dict(r.letter_scores or {}), dict(r.details or {}),
                   r.error_primary, dict(r.error_tags or {}), r.status, r.error_message, r.reasoning,
                   dict(r.generation) if r.generation else None)


class ItemReader:
    """Item-level reads over runs the viewer may see; made only by :func:`open_runs`. Queries are paged and use
    the (run_id, task), (run_id, dimension) and (run_id, error_primary) indexes."""

    def __init__(self, session: Session, run_ids: list[int], gate: object) -> None:
        if gate is not _GATE:
            raise PermissionError("an ItemReader comes from evaluator.item_access.open_runs only")
        self._session = session
        self.run_ids = run_ids

    def _check(self, run_id: int) -> None:
        if run_id not in self.run_ids:
            raise PermissionError(f"run {run_id} was not opened through the gate")

    def _matching(self, run_id: int, dimension: str | None, task: str | None, outcome: str,
                  tag: str | None) -> Select:
        self._check(run_id)
        wrong = func.sum(case((ItemResult.correct == False, 1), else_=0))  # noqa: E712
        unscored = func.sum(case((ItemResult.correct.is_(None), 1), else_=0))
        query = select(ItemResult.item_id).where(ItemResult.run_id == run_id)
        if dimension:
            query = query.where(ItemResult.dimension == dimension)
        if task:
            query = query.where(ItemResult.task == task)
        if tag:
            query = query.where(ItemResult.item_id.in_(
                select(ItemResult.item_id).where(ItemResult.run_id == run_id, ItemResult.error_primary == tag)))
        query = query.group_by(ItemResult.item_id)
        if outcome == "wrong":
            query = query.having(wrong > 0)
        elif outcome == "right":
            query = query.having(and_(wrong == 0, unscored == 0))
        elif outcome == "unscored":
            query = query.having(unscored > 0)
        return query

    def matching_page(self, run_id: int, *, dimension: str | None = None, task: str | None = None,
                      outcome: str = "all", tag: str | None = None, page: int = 1,
                      page_size: int = 10) -> tuple[int, list[int]]:
        """How many items of the run match, and the ids of one page of them (by item id). ``outcome`` is per
        item: right under every order, wrong under at least one, unscored (no verdict)."""
        matching = self._matching(run_id, dimension, task, outcome, tag)
        total = self._session.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
        ids = self._session.execute(matching.order_by(ItemResult.item_id).limit(page_size)
                                    .offset((page - 1) * page_size)).scalars().all()
        return total, list(ids)

    def items(self, item_ids: list[int]) -> dict[int, ItemData]:
        """The suite items ``item_ids`` that belong to an opened run's suite."""
        if not item_ids:
            return {}
        suites = select(EvalRun.suite_id).where(EvalRun.id.in_(self.run_ids))
        rows = self._session.scalars(select(SuiteItem).where(SuiteItem.id.in_(item_ids),
                                                             SuiteItem.suite_id.in_(suites)))
        return {i.id: ItemData(i.id, i.item_key, i.task, dict(i.data or {})) for i in rows}

    def rows(self, run_id: int, item_ids: list[int]) -> list[RowData]:
        """Every (item, order) row of ``item_ids`` in the run, by item then order."""
        self._check(run_id)
        if not item_ids:
            return []
        found = self._session.scalars(
            select(ItemResult).where(ItemResult.run_id == run_id, ItemResult.item_id.in_(item_ids))
            .order_by(ItemResult.item_id, ItemResult.order_index))
        return [_row(r) for r in found]

    def tag_counts(self, run_id: int) -> dict[str, int]:
        """Rows per primary error tag in the run."""
        self._check(run_id)
        found = self._session.execute(
            select(ItemResult.error_primary, func.count()).where(ItemResult.run_id == run_id,
                                                                 ItemResult.error_primary.is_not(None))
            .group_by(ItemResult.error_primary)).all()
        return {tag: count for tag, count in found}

    def disagreeing_page(self, task: str | None, page: int, page_size: int) -> tuple[int, list[int]]:
        """Items (original option order) that some of the opened runs got right and others wrong: the total and
        one page of item ids."""
        query = select(ItemResult.item_id).where(ItemResult.run_id.in_(self.run_ids), ItemResult.order_index == 0,
                                                 ItemResult.correct.is_not(None))
        if task:
            query = query.where(ItemResult.task == task)
        query = query.group_by(ItemResult.item_id).having(
            and_(func.count(func.distinct(ItemResult.correct)) > 1, func.count() == len(self.run_ids)))
        total = self._session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        ids = self._session.execute(query.order_by(ItemResult.item_id).limit(page_size)
                                    .offset((page - 1) * page_size)).scalars().all()
        return total, list(ids)

    def all_rows(self, run_id: int, chunk: int = 500) -> Iterator[tuple[ItemData, list[RowData]]]:
        """Every item of the run with its rows, item by item (for the per-model details download); read in
        chunks of ``chunk`` items so a large run never sits in memory at once."""
        self._check(run_id)
        ids = self._session.execute(select(ItemResult.item_id).where(ItemResult.run_id == run_id)
                                    .group_by(ItemResult.item_id).order_by(ItemResult.item_id)).scalars().all()
        for start in range(0, len(ids), chunk):
            part = list(ids[start:start + chunk])
            items, rows = self.items(part), self.rows(run_id, part)
            by_item: dict[int, list[RowData]] = {}
            for row in rows:
                by_item.setdefault(row.item_id, []).append(row)
            for item_id in part:
                if item_id in items:
                    yield items[item_id], by_item.get(item_id, [])
