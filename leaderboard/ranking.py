"""The ranking table: one row per visible evaluated model, built from a handful of set-based queries.

Why set-based: with 1,000 models the page must render in well under a second, so the table is assembled from
four queries over the latest runs (runs + models + submissions, dimension scores, scored-item counts) instead of
one query per model. Item rows are never read here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Subquery, func, select
from sqlmodel import Session

from evaluator.benchmark.protocols import OFFICIAL_PROTOCOL
from evaluator.tables import DimensionScore, EvalRun, Suite, TaskScore
from evaluator.benchmark.tasks import TASKS, Dimension
from leaderboard.columns import computed_columns
from leaderboard.runs import active_suite, latest_runs
from submissions.tables import ModelEntry, Submission

DIMENSIONS: list[str] = [d.value for d in Dimension]
SCORE_KEYS: list[str] = ["overall", *DIMENSIONS]
SIZE_BUCKETS: list[tuple[str, float, float]] = [
    ("<1B", 0, 1), ("1–4B", 1, 4), ("4–9B", 4, 9), ("9–15B", 9, 15.5), (">15B", 15.5, float("inf"))
]
UNKNOWN_SIZE = "unknown"


def size_bucket(params: float | None) -> str:
    """The size bucket label of a parameter count (``unknown`` when the count is missing)."""
    if params is None or pd.isna(params):
        return UNKNOWN_SIZE
    billions = params / 1e9
    return next(label for label, low, high in SIZE_BUCKETS if low <= billions < high)


def leaderboard_frame(session: Session, protocol: str = OFFICIAL_PROTOCOL, suite_id: int | None = None) -> pd.DataFrame:
    """One row per model: identity, listing facts, overall and dimension scores with CIs, robustness, n, rank.

    Columns: model_id, run_id, model, precision, type, params, params_b, size, license, demo, flag, source
    (hf | modelscope | api), submitted,
    finished, n_scored, n_items, robustness (overall), ``dim_robustness`` per dimension, for each key in
    SCORE_KEYS ``key``, ``key_low``, ``key_high``, and the key of every computed column (leaderboard.columns).
    Sorted by overall score (best first); ``rank`` is :func:`interval_rank` among all visible models, so filters
    do not renumber it. Only runs of ``protocol`` are ranked (one protocol at a time); ``strict_accuracy`` (and
    ``dim_strict_accuracy``) stand beside robustness, ``tokens_per_answer`` / ``tokens_p95`` /
    ``reasoning_tokens`` / ``device_seconds`` give the generation cost.
    ``suite_id``: an earlier suite's ranking (default: the active suite).
    """
    suite = session.get(Suite, suite_id) if suite_id is not None else active_suite(session)
    if suite is None:
        return _empty_frame()
    latest = latest_runs(suite.id, protocol)
    base = session.execute(
        select(
            latest.c.model_id, latest.c.run_id, ModelEntry.hub_id, ModelEntry.precision, ModelEntry.model_type,
            ModelEntry.params, ModelEntry.license, ModelEntry.is_demo, ModelEntry.flag_reason,
            ModelEntry.source, func.coalesce(Submission.created_at, ModelEntry.created_at), EvalRun.finished_at,
        )
        .join(ModelEntry, ModelEntry.id == latest.c.model_id)
        .join(EvalRun, EvalRun.id == latest.c.run_id)
        .outerjoin(Submission, Submission.id == EvalRun.submission_id)
    ).all()
    if not base:
        return _empty_frame()
    frame = pd.DataFrame(base, columns=["model_id", "run_id", "model", "precision", "type", "params", "license",
                                        "demo", "flag", "source", "submitted", "finished"])
    scores = session.execute(
        select(DimensionScore.run_id, DimensionScore.dimension, DimensionScore.score, DimensionScore.ci_low,
               DimensionScore.ci_high, DimensionScore.robustness, DimensionScore.strict_accuracy)
        .join(latest, latest.c.run_id == DimensionScore.run_id)
    ).all()
    wide = _widen(pd.DataFrame(scores, columns=["run_id", "dimension", "score", "low", "high", "robustness",
                                                "strict_accuracy"]))
    counts = session.execute(
        select(TaskScore.run_id, func.sum(TaskScore.n_scored), func.sum(TaskScore.n_items))
        .join(latest, latest.c.run_id == TaskScore.run_id)
        .group_by(TaskScore.run_id)
    ).all()
    frame = frame.merge(wide, on="run_id", how="left").merge(
        pd.DataFrame(counts, columns=["run_id", "n_scored", "n_items"]), on="run_id", how="left"
    ).merge(_cost_frame(session, latest), on="run_id", how="left")
    frame["params_b"] = frame["params"].astype("float64") / 1e9
    frame["size"] = frame["params"].map(size_bucket)
    frame["license"] = frame["license"].fillna("unknown")
    frame["demo"] = frame["demo"].astype(bool)
    frame = frame.sort_values(["overall", "model"], ascending=[False, True], na_position="last", kind="stable")
    frame.insert(0, "rank", interval_rank(frame["overall"], frame["overall_low"], frame["overall_high"]))
    for column in computed_columns():  # leaderboard.columns: columns whose value is computed from the others
        frame[column.key] = column.value(frame)
    return frame.reset_index(drop=True)


COST_COLUMNS = {"tokens_per_answer": "tokens_mean", "tokens_p95": "tokens_p95",
                "reasoning_tokens": "reasoning_tokens_mean", "device_seconds": "device_seconds"}


def _cost_frame(session: Session, latest: Subquery) -> pd.DataFrame:
    """Per run, the generation cost stored in the overall row's extras (``evaluator.engine.cost``)."""
    rows = session.execute(select(DimensionScore.run_id, DimensionScore.extras)
                           .join(latest, latest.c.run_id == DimensionScore.run_id)
                           .where(DimensionScore.dimension == "overall")).all()
    return pd.DataFrame([{"run_id": run_id, **{column: ((extras or {}).get("cost") or {}).get(key)
                                               for column, key in COST_COLUMNS.items()}}
                         for run_id, extras in rows], columns=["run_id", *COST_COLUMNS]).astype(
        {column: "float64" for column in COST_COLUMNS})


def interval_rank(score: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    """Ranks that respect uncertainty: 1 + the number of models whose 95% interval lies entirely above this one's
    (Chatbot Arena's rule), models without a score last.

    Why: two models whose intervals overlap are not distinguishable on this suite, so they share a rank instead
    of looking ranked apart by noise (Methodology: compare models only where intervals do not overlap). A model
    without an interval counts as the interval [score, score]; bounds are compared at 6 decimals, finer than any
    shown figure, so float noise does not split equal scores. The table stays sorted by score, so a model with a
    wide interval may show a better rank than one listed above it."""
    scored = score.notna()
    lows = low.where(low.notna(), score).astype("float64").round(6)
    highs = high.where(high.notna(), score).astype("float64").round(6)
    sorted_lows = np.sort(lows[scored].to_numpy())
    above = len(sorted_lows) - np.searchsorted(sorted_lows, highs[scored].to_numpy(), side="right")
    rank = pd.Series(int(scored.sum()) + 1, index=score.index, dtype="int64")
    rank[scored] = above + 1
    return rank


def _widen(scores: pd.DataFrame) -> pd.DataFrame:
    """Long (run, dimension) scores to one row per run with ``dim``, ``dim_low``, ``dim_high`` columns."""
    columns = ["run_id", *[f"{k}{s}" for k in SCORE_KEYS for s in ("", "_low", "_high")], "robustness",
               *[f"{d}_robustness" for d in DIMENSIONS], "strict_accuracy",
               *[f"{d}_strict_accuracy" for d in DIMENSIONS]]
    if scores.empty:
        return pd.DataFrame(columns=columns)
    pivot = scores.pivot_table(index="run_id", columns="dimension", values=["score", "low", "high"], aggfunc="first",
                               dropna=False)
    wide = pd.DataFrame(index=pivot.index)
    for key in SCORE_KEYS:
        for value, suffix in (("score", ""), ("low", "_low"), ("high", "_high")):
            wide[f"{key}{suffix}"] = pivot[(value, key)] if (value, key) in pivot.columns else float("nan")
    for key in SCORE_KEYS:
        for figure in ("robustness", "strict_accuracy"):
            part = scores[scores["dimension"] == key].set_index("run_id")[figure]
            wide[figure if key == "overall" else f"{key}_{figure}"] = part.reindex(wide.index)
    return wide.reset_index()[columns]


def _empty_frame() -> pd.DataFrame:
    columns = ["rank", "model_id", "run_id", "model", "precision", "type", "params", "license", "demo", "flag",
               "source", "submitted", "finished", *[f"{k}{s}" for k in SCORE_KEYS for s in ("", "_low", "_high")],
               "robustness", *[f"{d}_robustness" for d in DIMENSIONS], "strict_accuracy",
               *[f"{d}_strict_accuracy" for d in DIMENSIONS], "n_scored", "n_items", *COST_COLUMNS, "params_b", "size",
               *[c.key for c in computed_columns()]]
    return pd.DataFrame(columns=columns)


def task_frame(session: Session, dimension: str, protocol: str = OFFICIAL_PROTOCOL,
               suite_id: int | None = None) -> pd.DataFrame:
    """The tasks of one dimension for every ranked model: run_id plus ``task``, ``task_low``, ``task_high``,
    ``task_n`` columns (tasks in registry order). Raises ValueError for an unknown dimension."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    tasks = [name for name, spec in TASKS.items() if spec.dimension == dimension]
    suite = session.get(Suite, suite_id) if suite_id is not None else active_suite(session)
    columns = ["run_id", *[f"{t}{s}" for t in tasks for s in ("", "_low", "_high", "_n")]]
    if suite is None:
        return pd.DataFrame(columns=columns)
    latest = latest_runs(suite.id, protocol)
    rows = session.execute(
        select(TaskScore.run_id, TaskScore.task, TaskScore.score, TaskScore.ci_low, TaskScore.ci_high,
               TaskScore.n_scored)
        .join(latest, latest.c.run_id == TaskScore.run_id)
        .where(TaskScore.dimension == dimension)
    ).all()
    long = pd.DataFrame(rows, columns=["run_id", "task", "score", "low", "high", "n"])
    wide = pd.DataFrame({"run_id": sorted(long["run_id"].unique())}).set_index("run_id")
    for task in tasks:
        part = long[long["task"] == task].set_index("run_id")
        for value, suffix in (("score", ""), ("low", "_low"), ("high", "_high"), ("n", "_n")):
            wide[f"{task}{suffix}"] = part[value].reindex(wide.index) if not part.empty else float("nan")
    return wide.reset_index()[columns]
