"""A model's scores through time: every finished run on every suite version, and the scores a run had under
earlier evaluator versions before it was re-scored.

Why snapshots: re-scoring (``evaluator.engine.scoring.score_run`` on a finished run) replaces the run's TaskScore and
DimensionScore rows in place, so without a copy the ranking a visitor saw last month could not be traced.
:func:`keep_scores` copies the overall and dimension scores with the evaluator version that made them just
before they are replaced.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from evaluator.tables import DimensionScore, EvalRun, ScoreSnapshot, Suite


def _scores(session: Session, run_id: int) -> dict[str, dict[str, float | None]]:
    rows = session.execute(select(DimensionScore).where(DimensionScore.run_id == run_id)).scalars()
    return {r.dimension: {"score": r.score, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in rows}


def keep_scores(session: Session, run: EvalRun) -> None:
    """Before ``run``'s scores are replaced: keep them under the evaluator version that made them (once per
    version; nothing to keep on a run's first scoring)."""
    scores = _scores(session, run.id)
    if not scores:
        return
    kept = session.execute(select(ScoreSnapshot.id).where(ScoreSnapshot.run_id == run.id,
                                                          ScoreSnapshot.evaluator_version == run.evaluator_version)
                           ).first()
    if kept is None:
        session.add(ScoreSnapshot(run_id=run.id, evaluator_version=run.evaluator_version, scores=scores))


def model_history(session: Session, model_id: int) -> list[dict[str, Any]]:
    """Every score the model has had, newest run first: one row per finished run as it stands now, and one per
    earlier evaluator version of a re-scored run. Row: run_id, suite (name), suite_version, evaluator_version,
    current (bool), finished_at, and ``scores`` {dimension or "overall": {"score", "ci_low", "ci_high"}}."""
    runs = session.execute(
        select(EvalRun, Suite.name).join(Suite, Suite.id == EvalRun.suite_id)
        .where(EvalRun.model_id == model_id, EvalRun.status == "finished")
        .order_by(EvalRun.finished_at.desc(), EvalRun.id.desc())
    ).all()
    snapshots: dict[int, list[ScoreSnapshot]] = {}
    if runs:
        for snap in session.execute(select(ScoreSnapshot).where(ScoreSnapshot.run_id.in_([r.id for r, _ in runs]))
                                    .order_by(ScoreSnapshot.taken_at.desc())).scalars():
            snapshots.setdefault(snap.run_id, []).append(snap)
    history = []
    for run, suite_name in runs:
        base = {"run_id": run.id, "suite": suite_name, "suite_version": run.suite_version,
                "finished_at": run.finished_at}
        history.append({**base, "evaluator_version": run.evaluator_version, "current": True,
                        "scores": _scores(session, run.id)})
        history += [{**base, "evaluator_version": snap.evaluator_version, "current": False,
                     "scores": dict(snap.scores or {})} for snap in snapshots.get(run.id, [])]
    return history
