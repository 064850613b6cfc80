"""How well the automatic error tags agree with organizer reviews: a read model over ``TagReview`` rows.

Kept apart from ``evaluator.ops.review`` (which writes reviews) because the public Methodology page shows these figures
and ``leaderboard/`` may import only the benchmark's definition and read models (docs/architecture.md). Agreement is
Cohen's kappa between automatic and human primary categories, with a per-category confusion table; kappa is
computed here (a dozen lines) rather than pulling in scikit-learn.

Kappa is published with a 95% percentile bootstrap interval over the reviewed items (:func:`kappa_interval`),
and only from ``MIN_REVIEWS_FOR_KAPPA`` reviews on: with fewer the interval is wider than the 0.2-wide bands
by which kappa is usually read (Landis & Koch: slight / fair / moderate / substantial), so a bare figure would
mislead. The analytic large-sample standard error, sqrt(p_o(1-p_o)/n)/(1-p_e), gives about ±0.2 at n = 30 for
a typical p_o = 0.8, p_e = 0.3; the bootstrap is used because it needs no normality and handles skewed
category counts.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sqlmodel import Session, select

from evaluator.tables import TagReview
from evaluator.benchmark.taxonomy import CATEGORIES


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


MIN_REVIEWS_FOR_KAPPA = 30  # see the module docstring: below this the 95% interval is wider than a kappa band
KAPPA_BOOTSTRAP_RESAMPLES = 2000


def kappa_interval(pairs: list[tuple[str, str]], confidence: float = 0.95,
                   resamples: int = KAPPA_BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of Cohen's kappa, resampling the reviewed items with replacement (seeded,
    so the published figure is stable). Resamples where kappa is undefined (one label only) are skipped; None
    when fewer than two pairs or no resample is defined."""
    if len(pairs) < 2:
        return None
    labels = {label: i for i, label in enumerate(sorted({x for pair in pairs for x in pair}))}
    auto = np.array([labels[a] for a, _ in pairs])
    human = np.array([labels[h] for _, h in pairs])
    n, k = len(pairs), len(labels)
    rng = np.random.default_rng(seed)
    values = []
    for picks in rng.integers(0, n, size=(resamples, n)):
        a, h = auto[picks], human[picks]
        expected = float(np.bincount(a, minlength=k) @ np.bincount(h, minlength=k)) / (n * n)
        if expected < 1.0:
            values.append(((a == h).mean() - expected) / (1 - expected))
    if not values:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


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
         "kappa_ci": [low, high] | None,              # its 95% percentile bootstrap interval over reviewed items
         "kappa_min_reviews": int,                    # MIN_REVIEWS_FOR_KAPPA: publish kappa from this many on
         "kappa_enough": bool,                        # n_reviewed >= kappa_min_reviews
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
        "kappa_ci": list(interval) if (interval := kappa_interval(pairs)) else None,
        "kappa_min_reviews": MIN_REVIEWS_FOR_KAPPA, "kappa_enough": len(pairs) >= MIN_REVIEWS_FOR_KAPPA,
        "categories": list(CATEGORIES), "confusion": confusion(pairs), "per_category": per_category,
        "by_method": {family: {"n": len(group), "agreement": _share(sum(a == h for a, h in group), len(group)),
                               "kappa": cohen_kappa(group)} for family, group in sorted(by_method.items())},
        "runs": sorted({r.run_id for r in reviews}),
    }


def kappa_text(kappa: float | None, interval: list[float] | tuple[float, float] | None, n_reviewed: int) -> str:
    """Kappa as pages publish it: "0.62 (95% CI 0.41–0.80)", or why there is none yet."""
    if n_reviewed < MIN_REVIEWS_FOR_KAPPA:
        return f"not enough reviews yet ({n_reviewed} of {MIN_REVIEWS_FOR_KAPPA})"
    if kappa is None:
        return "undefined (one category only)"
    return f"{kappa:.2f}" + (f" (95% CI {interval[0]:.2f}–{interval[1]:.2f})" if interval else "")

