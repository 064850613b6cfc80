"""Which run stands for a model: its latest finished run on the active suite, for models that are not hidden.

Every public view goes through :func:`latest_runs` so that a model is shown once and always from the same run,
and through :func:`data_version` so that cached views refresh as soon as a run finishes or a moderator acts.
"""
from __future__ import annotations

from sqlalchemy import Subquery, case, func, select
from sqlmodel import Session

from common.settings import get_settings
from evaluator.tables import EvalRun, Suite
from submissions.tables import ModelEntry


def active_suite(session: Session) -> Suite | None:
    """The suite the leaderboard ranks on (``Suite.active``); None before any suite is imported."""
    return session.scalars(select(Suite).where(Suite.active == True).order_by(Suite.id.desc())).first()  # noqa: E712


def active_suite_facts(session: Session) -> dict[str, object] | None:
    """Name, version, size and visibility of the active suite, as the pages state them above every score."""
    suite = active_suite(session)
    if suite is None:
        return None
    return {"id": suite.id, "name": suite.name, "version": suite.version, "item_count": suite.item_count,
            "visibility": suite.visibility}


def latest_runs(suite_id: int) -> Subquery:
    """A subquery (run_id, model_id) with each visible model's newest finished run on ``suite_id``."""
    ranked = (
        select(
            EvalRun.id.label("run_id"),
            EvalRun.model_id.label("model_id"),
            func.row_number()
            .over(partition_by=EvalRun.model_id, order_by=(EvalRun.finished_at.desc(), EvalRun.id.desc()))
            .label("recency"),
        )
        .join(ModelEntry, ModelEntry.id == EvalRun.model_id)
        .where(EvalRun.suite_id == suite_id, EvalRun.status == "finished", ModelEntry.hidden == False)  # noqa: E712
        .subquery("ranked_runs")
    )
    return select(ranked.c.run_id, ranked.c.model_id).where(ranked.c.recency == 1).subquery("latest_runs")


def data_version(session: Session) -> str:
    """A short token that changes whenever what the public views show may change.

    It combines the database, the active suite and its visibility, the newest finished run and the moderation
    state (hidden and flagged counts), and is the key of every cached view.
    """
    suite = active_suite(session)
    newest = session.execute(
        select(func.count(EvalRun.id), func.max(EvalRun.id), func.max(EvalRun.finished_at)).where(
            EvalRun.status == "finished"
        )
    ).one()
    moderation = session.execute(
        select(
            func.count(ModelEntry.id),
            func.sum(case((ModelEntry.hidden == True, 1), else_=0)),  # noqa: E712
            func.count(ModelEntry.flag_reason),
        )
    ).one()
    parts = [get_settings().resolved_database_url, suite.version if suite else "-", suite.visibility if suite else "-",
             *newest, *moderation]
    return "|".join(str(part) for part in parts)
