"""UTC timestamps, the only kind stored, and how they are written out.

SQLite hands timezone-aware columns back naive (PostgreSQL keeps the offset); both hold UTC, so a naive value is
read as UTC. Tables and exports write times with their zone, so a downloaded CSV is unambiguous."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC, as everything stored is)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_utc(moment: datetime | None) -> str:
    """'2026-12-02 23:00:05 UTC' (to the second, zone named), '' when unset."""
    aware = as_utc(moment)
    return aware.strftime("%Y-%m-%d %H:%M:%S UTC") if aware else ""
