"""Which run stands for a model: its latest finished run on the active suite under one answer protocol, for models
that are not hidden.

Every public view goes through :func:`latest_runs` so that a model is shown once per protocol and always from the
same run, and through :func:`data_version` so that cached views refresh as soon as a run finishes or a moderator
acts. Runs of both protocols of one model coexist: the leaderboard ranks one protocol at a time (the official
``generate`` by default, :data:`evaluator.benchmark.protocols.OFFICIAL_PROTOCOL`).
"""
from __future__ import annotations

from sqlalchemy import Subquery, case, func, select
from sqlmodel import Session

from common.settings import get_settings
from evaluator.benchmark.protocols import OFFICIAL_PROTOCOL, PROTOCOLS
from evaluator.tables import EvalRun, Suite
from submissions.tables import ModelEntry


def active_suite(session: Session) -> Suite | None:
    """The suite the leaderboard ranks on (``Suite.active``); None before any suite is imported."""
    return session.scalars(select(Suite).where(Suite.active == True).order_by(Suite.id.desc())).first()  # noqa: E712


def active_suite_facts(session: Session, suite_id: int | None = None) -> dict[str, object] | None:
    """Name, version, size and visibility of the active suite (or of suite ``suite_id``), as the pages state them above every
    score; ``active`` says whether it is the active one."""
    suite = session.get(Suite, suite_id) if suite_id is not None else active_suite(session)
    if suite is None:
        return None
    return {"id": suite.id, "name": suite.name, "version": suite.version, "item_count": suite.item_count,
            "active": suite.active, "visibility": suite.visibility}


class SuiteNotFound(LookupError):
    """A ``?suite=`` value that names no suite; the message says what is accepted."""


def suite_label(name: str, version: str) -> str:
    """How a suite version is named in URLs and on pages: ``name@<first 12 of the version hash>``."""
    return f"{name}@{version[:12]}"


def resolve_suite(session: Session, ref: str) -> Suite:
    """The suite ``ref`` names: its id, or ``name@version`` (the version hash or a prefix of at least 6
    characters, as :func:`suite_label` writes it). Raises SuiteNotFound with a one-line reason."""
    text = ref.strip()
    if text.isdigit():
        suite = session.get(Suite, int(text))
        if suite is None:
            raise SuiteNotFound(f"There is no suite with id {text}.")
        return suite
    name, _, version = text.rpartition("@")
    if not name or len(version) < 6:
        raise SuiteNotFound(f"Unknown suite {text!r}: use a suite id or name@version (at least 6 characters of the "
                            "version).")
    found = session.scalars(select(Suite).where(Suite.name == name, Suite.version.startswith(version))).all()
    if len(found) != 1:
        raise SuiteNotFound(f"There is no suite {text!r}." if not found else
                            f"{text!r} names {len(found)} suites: give more of the version.")
    return found[0]


def ranked_suites(session: Session) -> list[dict[str, object]]:
    """Suites with at least one finished run of a visible model, newest first: id, name, version, label,
    active, n_models (the versions whose leaderboard can be shown)."""
    rows = session.execute(
        select(Suite.id, Suite.name, Suite.version, Suite.active, func.count(func.distinct(EvalRun.model_id)))
        .join(EvalRun, EvalRun.suite_id == Suite.id).join(ModelEntry, ModelEntry.id == EvalRun.model_id)
        .where(EvalRun.status == "finished", ModelEntry.hidden == False)  # noqa: E712
        .group_by(Suite.id, Suite.name, Suite.version, Suite.active).order_by(Suite.id.desc())
    ).all()
    return [{"id": i, "name": n, "version": v, "label": suite_label(n, v), "active": bool(a), "n_models": c}
            for i, n, v, a, c in rows]


def check_protocol(protocol: str) -> str:
    """``protocol`` when it is one of :data:`PROTOCOLS`; raises ValueError naming the accepted ones otherwise."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown answer protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    return protocol


def latest_runs(suite_id: int, protocol: str = OFFICIAL_PROTOCOL) -> Subquery:
    """A subquery (run_id, model_id) with each visible model's newest finished run on ``suite_id`` under
    ``protocol``."""
    check_protocol(protocol)
    ranked = (
        select(
            EvalRun.id.label("run_id"),
            EvalRun.model_id.label("model_id"),
            func.row_number()
            .over(partition_by=EvalRun.model_id, order_by=(EvalRun.finished_at.desc(), EvalRun.id.desc()))
            .label("recency"),
        )
        .join(ModelEntry, ModelEntry.id == EvalRun.model_id)
        .where(EvalRun.suite_id == suite_id, EvalRun.status == "finished", EvalRun.protocol == protocol,
               ModelEntry.hidden == False)  # noqa: E712
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
