"""Human review of automatic error tags, and how well the automatic tags agree with the humans.

Organizers review a seeded random sample of a run's tagged rows (:func:`draw_sample`): each review accepts the
automatic primary tag or changes it (:func:`record_review`). A review keeps the tag it judged (``auto_primary``,
``auto_method``), so agreement stays meaningful after the rows are re-tagged by new rules. Agreement is Cohen's
kappa between automatic and human primary categories, with a per-category confusion table
(:func:`agreement_summary`); kappa is computed here (a dozen lines) rather than pulling in scikit-learn.
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from evaluator.tables import EvalRun, ItemResult, TagReview
from evaluator.taxonomy import CATEGORIES
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


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of (automatic, human) label pairs; None when undefined (no pairs, or one label only)."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == h for a, h in pairs) / n
    auto, human = Counter(a for a, _ in pairs), Counter(h for _, h in pairs)
    expected = sum(auto[label] * human[label] for label in auto) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1 - expected)


def confusion(pairs: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Counts of automatic (rows) against human (columns) primary tags, over the eight categories."""
    counts = Counter(pairs)
    return {auto: {human: counts[(auto, human)] for human in CATEGORIES} for auto in CATEGORIES}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def agreement_summary(session: Session, run_id: int | None = None) -> dict[str, Any]:
    """Agreement of automatic tags with organizer reviews, over all runs or one run.

    Shape::

        {"n_reviewed": int, "n_accepted": int, "n_changed": int,
         "observed_agreement": float | None,          # share of reviews that accepted the tag
         "kappa": float | None,                       # Cohen's kappa, automatic vs human primary
         "categories": [the eight category names],
         "confusion": {auto: {human: count}},         # every category on both axes
         "per_category": {category: {"auto": n, "human": n, "agreed": n,
                                     "precision": float | None,   # agreed / auto
                                     "recall": float | None}},    # agreed / human
         "by_method": {"rule" | "judge" | "unknown": {"n": int, "agreement": float | None,
                                                      "kappa": float | None}},
         "runs": [run ids with reviews]}
    """
    query = select(TagReview)
    if run_id is not None:
        query = query.where(TagReview.run_id == run_id)
    reviews = [r for r in session.exec(query.order_by(TagReview.id)) if r.auto_primary and r.human_primary]
    pairs = [(r.auto_primary, r.human_primary) for r in reviews]
    agreed = sum(a == h for a, h in pairs)
    auto_counts, human_counts = Counter(a for a, _ in pairs), Counter(h for _, h in pairs)
    per_category = {}
    for category in CATEGORIES:
        hits = sum(1 for a, h in pairs if a == h == category)
        per_category[category] = {"auto": auto_counts[category], "human": human_counts[category], "agreed": hits,
                                  "precision": _share(hits, auto_counts[category]),
                                  "recall": _share(hits, human_counts[category])}
    by_method: dict[str, list[tuple[str, str]]] = {}
    for review, pair in zip(reviews, pairs):
        family = (review.auto_method or "unknown").split(":", 1)[0]
        by_method.setdefault(family, []).append(pair)
    return {
        "n_reviewed": len(pairs), "n_accepted": agreed, "n_changed": len(pairs) - agreed,
        "observed_agreement": _share(agreed, len(pairs)), "kappa": cohen_kappa(pairs),
        "categories": list(CATEGORIES), "confusion": confusion(pairs), "per_category": per_category,
        "by_method": {family: {"n": len(group), "agreement": _share(sum(a == h for a, h in group), len(group)),
                               "kappa": cohen_kappa(group)} for family, group in sorted(by_method.items())},
        "runs": sorted({r.run_id for r in reviews}),
    }
