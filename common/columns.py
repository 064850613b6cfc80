"""Column helpers shared by every package's tables, so types are identical on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field

from common.timeutil import utcnow


def json_field(default_factory: Any = dict, nullable: bool = False) -> Any:
    """A JSON column (JSON on SQLite, JSON on PostgreSQL)."""
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=nullable))


def text_field(default: str | None = "", nullable: bool = True) -> Any:
    """An unbounded text column (prompts, raw outputs, tracebacks)."""
    return Field(default=default, sa_column=Column(Text, nullable=nullable))


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def ts_field(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))
