"""The audit log: every organizer action (who, when, what, before -> after), to browse and export.

Rows are written in the same transaction as the change they describe, so the log can never disagree with the
data: either both are committed or neither.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from common.db import session_scope
from common.timeutil import as_utc
from submissions.tables import AuditLog, User


CLI = "CLI"  # who acted, for commands an operator ran (``python cli.py users ...``): no signed-in user


def record_action(session: Session, *, actor: User | None, action: str, target_type: str, target_id: int | None,
                  before: dict[str, Any], after: dict[str, Any], unattended: str = "system") -> AuditLog:
    """Add one audit row to the caller's transaction (the caller commits). Without an ``actor`` the row names
    ``unattended``: :data:`CLI` for an operator's command, "system" for the product's own doing (a setting)."""
    entry = AuditLog(actor_id=actor.id if actor else None, actor_name=actor.username if actor else unattended,
                     action=action, target_type=target_type, target_id=target_id,
                     before=_jsonable(before), after=_jsonable(after))
    session.add(entry)
    return entry


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


@dataclass(frozen=True)
class AuditFilter:
    """What an organizer narrows the log to; empty fields match everything."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000


def list_entries(flt: AuditFilter = AuditFilter(), *, engine: Engine | None = None) -> list[AuditLog]:
    """Newest first."""
    query = select(AuditLog)
    if flt.actor:
        query = query.where(AuditLog.actor_name == flt.actor)
    if flt.action:
        query = query.where(AuditLog.action == flt.action)
    if flt.target_type:
        query = query.where(AuditLog.target_type == flt.target_type)
    if flt.since is not None:
        query = query.where(col(AuditLog.at) >= flt.since)
    if flt.until is not None:
        query = query.where(col(AuditLog.at) <= flt.until)
    query = query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(max(1, min(flt.limit, 100_000)))
    with session_scope(engine) as session:
        return list(session.exec(query))


def distinct_values(*, engine: Engine | None = None) -> dict[str, list[str]]:
    """Actors, actions and target types present, for the page's filters."""
    with session_scope(engine) as session:
        return {
            "actor": sorted(set(session.exec(select(AuditLog.actor_name).distinct()))),
            "action": sorted(set(session.exec(select(AuditLog.action).distinct()))),
            "target_type": sorted(set(session.exec(select(AuditLog.target_type).distinct()))),
        }


EXPORT_COLUMNS = ("id", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "before", "after")


def as_rows(entries: list[AuditLog]) -> list[dict[str, Any]]:
    """Flat rows (before/after as JSON text) for tables and CSV."""
    return [{"id": e.id, "at": as_utc(e.at).isoformat() if e.at else "", "actor_id": e.actor_id,  # with +00:00
             "actor_name": e.actor_name,
             "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
             "before": json.dumps(e.before, ensure_ascii=False, sort_keys=True),
             "after": json.dumps(e.after, ensure_ascii=False, sort_keys=True)} for e in entries]


def export_csv(entries: list[AuditLog]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(as_rows(entries))
    return buffer.getvalue()


def export_jsonl(entries: list[AuditLog]) -> str:
    return "".join(json.dumps({**row, "before": e.before, "after": e.after}, ensure_ascii=False) + "\n"
                   for row, e in zip(as_rows(entries), entries))
