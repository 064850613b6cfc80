"""Human review of automatic error tags (the organizers' workflow; writes ``TagReview`` rows).

Organizers review a seeded random sample of a run's tagged rows (:func:`draw_sample`): each review accepts the
automatic primary tag or changes it (:func:`record_review`). A review keeps the tag it judged (``auto_primary``,
``auto_method``), so agreement stays meaningful after the rows are re-tagged by new rules. How well the automatic
tags agree with the humans is a read model of its own, ``evaluator.benchmark.agreement``, which the public pages may read.

:func:`review_context` gives what a reviewer needs beside a tag: the answer and the reference in the letters of
the prompt shown (with the option text), every order's answer, and the tag's rule in words.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


from sqlalchemy import func
from sqlmodel import Session, select

from evaluator.benchmark.permutations import SHOWN_LETTERS, to_shown
from evaluator.tables import EvalRun, ItemResult, SuiteItem, TagReview
from evaluator.benchmark.taxonomy import CATEGORIES, describe_method
from submissions.tables import ModelEntry


class ReviewError(ValueError):
    """A review request that cannot be carried out; the message says why and nothing was changed."""


def reviewable_runs(session: Session) -> list[dict[str, Any]]:
    """Runs with tagged rows, newest first: ``{"run_id", "model", "status", "n_tagged", "n_reviewed"}``."""
    tagged = dict(session.exec(select(ItemResult.run_id, func.count()).where(ItemResult.error_primary.is_not(None))  # type: ignore[union-attr]
                               .group_by(ItemResult.run_id)).all())
    reviewed = dict(session.exec(select(TagReview.run_id, func.count()).group_by(TagReview.run_id)).all())
    runs = []
    for run_id in sorted(tagged, reverse=True):
        run = session.get(EvalRun, run_id)
        model = session.get(ModelEntry, run.model_id) if run and run.model_id else None
        runs.append({"run_id": run_id, "model": model.hub_id if model else "(no model)",
                     "status": run.status if run else "?", "n_tagged": tagged[run_id],
                     "n_reviewed": reviewed.get(run_id, 0)})
    return runs


def tagged_rows(session: Session, run_id: int) -> list[ItemResult]:
    """A run's rows that carry an automatic primary tag, in id order."""
    query = select(ItemResult).where(ItemResult.run_id == run_id, ItemResult.error_primary.is_not(None))  # type: ignore[union-attr]
    return list(session.exec(query.order_by(ItemResult.id)))


def draw_sample(session: Session, run_id: int, size: int = 20, seed: int = 0) -> list[ItemResult]:
    """A reproducible random sample of ``size`` tagged rows of run ``run_id`` (all of them if fewer), in id order.
    The same run, size and seed give the same rows as long as the run's tagged rows are the same."""
    if size < 1:
        raise ReviewError(f"sample size must be at least 1 (got {size})")
    if session.get(EvalRun, run_id) is None:
        raise ReviewError(f"run {run_id} does not exist")
    rows = tagged_rows(session, run_id)
    picked = random.Random(f"{run_id}:{seed}").sample(rows, min(size, len(rows)))
    return sorted(picked, key=lambda row: row.id or 0)


def reviews_of(session: Session, item_result_ids: list[int]) -> dict[int, TagReview]:
    """Existing reviews of these rows, by row id."""
    if not item_result_ids:
        return {}
    query = select(TagReview).where(TagReview.item_result_id.in_(item_result_ids))  # type: ignore[attr-defined]
    return {review.item_result_id: review for review in session.exec(query)}


def record_review(session: Session, item_result_id: int, *, human_primary: str | None = None,
                  reviewer_id: int | None = None, note: str | None = None) -> TagReview:
    """Accept (``human_primary`` None or equal to the automatic tag) or change a row's primary tag.
    Reviewing a row again replaces the earlier review. Raises ReviewError without changing anything when the
    row does not exist, has no automatic tag, or the category is not one of the eight."""
    row = session.get(ItemResult, item_result_id)
    if row is None:
        raise ReviewError(f"result row {item_result_id} does not exist")
    if row.error_primary is None:
        raise ReviewError(f"result row {item_result_id} has no automatic tag to review")
    if human_primary is not None and human_primary not in CATEGORIES:
        raise ReviewError(f"unknown category {human_primary!r}; use one of: {', '.join(CATEGORIES)}")
    human = human_primary or row.error_primary
    review = reviews_of(session, [item_result_id]).get(item_result_id) or TagReview(
        item_result_id=item_result_id, run_id=row.run_id)
    review.reviewer_id = reviewer_id
    review.auto_primary = row.error_primary
    review.auto_method = (row.error_tags or {}).get("method")
    review.human_primary = human
    review.accepted = human == row.error_primary
    review.note = note.strip() if note and note.strip() else None
    session.add(review)
    row.error_tags = {**(row.error_tags or {}), "human": human}  # a new dict, so the JSON column is saved
    session.add(row)
    session.flush()
    return review


@dataclass(frozen=True)
class OrderView:
    """One option order's answer, in that order's letters and in the letters of the prompt under review."""

    order_index: int
    answer: str  # "C. 阿司匹林" in this order's letters; "" when none was read
    answer_in_reviewed: str  # the same options in the letters of the reviewed prompt
    correct: bool | None


@dataclass(frozen=True)
class ReviewContext:
    """What a reviewer reads beside an automatic tag."""

    answer: str  # the model's answer in the letters of the prompt shown, with the option text
    reference: str  # the reference answer likewise ("" when the item has none)
    orders: list[OrderView]
    rule: str  # how the tag was made, in words


def _lettered(keys: list[str], permutation: list[str], options: dict[str, str]) -> str:
    """Original option keys as "C. text" in the letters of ``permutation`` (``permutation[i]`` shown at letter i)."""
    shown = to_shown(keys, permutation)
    by_letter = dict(zip(SHOWN_LETTERS, permutation))
    return "; ".join(f"{letter}. {options.get(by_letter[letter], '')}" for letter in sorted(shown))


def _answer_text(answer: Any, permutation: list[str], options: dict[str, str]) -> str:
    """An answer in original keys shown in ``permutation``'s letters (choice items), else as plain text."""
    if answer is None or answer == "" or answer == []:
        return ""
    keys = [answer] if isinstance(answer, str) else list(answer) if isinstance(answer, list) else None
    if options and keys is not None and all(isinstance(k, str) and k in options for k in keys):
        return _lettered(keys, permutation or list(options), options)
    return "、".join(map(str, keys)) if keys is not None else str(answer)


def review_context(session: Session, row: ItemResult) -> ReviewContext:
    """The reviewed row's answer and reference in its prompt's letters, every order's answer and the rule."""
    suite_item = session.get(SuiteItem, row.item_id)
    data = suite_item.data if suite_item else {}
    options: dict[str, str] = data.get("options") or {}
    reviewed = list(row.permutation or options)
    siblings = session.exec(select(ItemResult).where(ItemResult.run_id == row.run_id,
                                                     ItemResult.item_id == row.item_id)
                            .order_by(ItemResult.order_index)).all()
    orders = [OrderView(other.order_index,
                        _answer_text(other.parsed_answer, list(other.permutation or options), options),
                        _answer_text(other.parsed_answer, reviewed, options), other.correct) for other in siblings]
    return ReviewContext(answer=_answer_text(row.parsed_answer, reviewed, options),
                         reference=_answer_text(data.get("answer"), reviewed, options), orders=orders,
                         rule=describe_method((row.error_tags or {}).get("method")))
