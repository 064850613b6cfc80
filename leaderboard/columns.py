"""One record per leaderboard column: its label, help text, cell format, default visibility, sort key and where its
value comes from. The ranking frame (leaderboard.ranking), the table view and its exports (leaderboard.table_view)
and the Leaderboard page read these records only, so adding a column is one :func:`register_column` call (like the
Hugging Face leaderboard template's ``AutoEvalColumn``).

A column's ``label`` is its id: the value of ``?cols=`` and the header in exports, the same in both languages.
What the page shows, its title and help, comes from the translation table (``col.<key>.title`` / ``.help`` in
common/translations.toml; :func:`column_title`, :func:`column_help`), falling back to the label and ``help`` for a
column registered at run time without a translation.

A column's value is the ranking frame's column ``key``: the frame's queries fill the built-in ones; a column with a
``value`` function computes it from the frame's other columns (the frame applies it, so search, sorting, the page
and the exports all see it).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from common.i18n import has, t
from evaluator.benchmark.tasks import Dimension
from leaderboard.model_facts import FACT_COLUMNS
from leaderboard.labels import ROBUSTNESS, STRICT, dimension_label

# How a cell is written: "score" (with its key_low / key_high interval), "figure" (0–1 without interval), "count",
# "params" (3B on the page, a count in exports), "date", "flags" (demo / flagged notes), "model" (name, precision
# added where a name repeats), "text" (as is).
Format = Literal["score", "figure", "count", "params", "date", "flags", "model", "text"]


@dataclass(frozen=True)
class Column:
    """One column of the overview table."""

    label: str  # the column's id: header in exports and the value of ``?cols=`` in a shared URL
    key: str  # the ranking frame's column holding the value (the sort key too)
    help: str = ""  # hover text of a column without a translation (built-in ones: col.<key>.help)
    format: Format = "text"
    visible: bool = True  # shown until a visitor changes the column choice
    sortable: bool = True
    fixed: bool = False  # always shown (#, Model, Overall), not in the column choice
    value: Callable[[pd.DataFrame], pd.Series] | None = None  # computed from the frame; None: the queries fill it


COLUMNS: dict[str, Column] = {}


def register_column(column: Column) -> Column:
    """Add ``column`` after the existing ones; a ValueError (one line) when its label or key is taken."""
    if column.label in COLUMNS:
        raise ValueError(f"leaderboard column {column.label!r} registered twice")
    if any(c.key == column.key for c in COLUMNS.values()):
        raise ValueError(f"leaderboard column key {column.key!r} is already used")
    COLUMNS[column.label] = column
    return column


def unregister_column(label: str) -> None:
    """Remove a column added at run time (tests, deployments); KeyError when unknown."""
    del COLUMNS[label]


def column_title(column: Column, lang: str | None = None) -> str:
    """The header the page shows: the translated title (a dimension's short name), else the label."""
    if has(f"dim.{column.key}.short"):
        return t(f"dim.{column.key}.short", lang)
    return t(f"col.{column.key}.title", lang) if has(f"col.{column.key}.title") else column.label


def column_help(column: Column, lang: str | None = None) -> str:
    """The column's hover text in the page's language ("" for none)."""
    if column.key in {d.value for d in Dimension}:
        return t("col.dimension.help", lang, name=t(f"dim.{column.key}.long", lang))
    return t(f"col.{column.key}.help", lang) if has(f"col.{column.key}.help") else column.help


def optional_columns() -> dict[str, Column]:
    """The columns a visitor may choose (all but #, Model and Overall), in table order."""
    return {label: column for label, column in COLUMNS.items() if not column.fixed}


def computed_columns() -> list[Column]:
    return [column for column in COLUMNS.values() if column.value is not None]


for _column in [
    Column("#", "rank", format="text", fixed=True, sortable=False),
    Column("Model", "model", format="model", fixed=True),
    Column("Overall", "overall", format="score", fixed=True),
    *[Column(dimension_label(d, short=True), d.value, format="score") for d in Dimension],
    Column(STRICT, "strict_accuracy", format="figure"),
    Column(ROBUSTNESS, "robustness", format="figure"),
    Column("Params", "params", format="params"),
    Column("Type", "type", format="text"),
    Column("Precision", "precision", format="text"),
    Column("License", "license", format="text"),
    Column("Source", "source", format="text"),
    Column("Submitted", "submitted", format="date"),
    Column("Flags", "flag", format="flags", sortable=False),
    Column("n", "n_scored", format="count"),
    # model facts from the card and config (leaderboard.model_facts fills them): optional, off unless chosen
    *[Column(label, key, format="count" if key == "context_length" else "text", visible=False, sortable=False)
      for label, key in FACT_COLUMNS.items()],
]:
    register_column(_column)
