"""One record per leaderboard column: its label, help text, cell format, default visibility, sort key and where its
value comes from. The ranking frame (leaderboard.ranking), the table view and its exports (leaderboard.table_view)
and the Leaderboard page read these records only, so adding a column is one :func:`register_column` call (like the
Hugging Face leaderboard template's ``AutoEvalColumn``).

A column's value is the ranking frame's column ``key``: the frame's queries fill the built-in ones; a column with a
``value`` function computes it from the frame's other columns (the frame applies it, so search, sorting, the page
and the exports all see it).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from evaluator.benchmark.tasks import Dimension
from leaderboard.model_facts import FACT_COLUMNS
from leaderboard.labels import (RANK_RULE, ROBUSTNESS, ROBUSTNESS_HELP, SOURCE_HELP, STRICT, STRICT_HELP,
                               dimension_label)

# How a cell is written: "score" (with its key_low / key_high interval), "figure" (0–1 without interval), "count",
# "params" (3B on the page, a count in exports), "date", "flags" (demo / flagged notes), "model" (name, precision
# added where a name repeats), "text" (as is).
Format = Literal["score", "figure", "count", "params", "date", "flags", "model", "text"]


@dataclass(frozen=True)
class Column:
    """One column of the overview table."""

    label: str  # header on the page and in exports; also the value of ``?cols=`` in a shared URL
    key: str  # the ranking frame's column holding the value (the sort key too)
    help: str = ""  # hover text on the page
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


def optional_columns() -> dict[str, Column]:
    """The columns a visitor may choose (all but #, Model and Overall), in table order."""
    return {label: column for label, column in COLUMNS.items() if not column.fixed}


def computed_columns() -> list[Column]:
    return [column for column in COLUMNS.values() if column.value is not None]


for _column in [
    Column("#", "rank", RANK_RULE, "text", fixed=True, sortable=False),
    Column("Model", "model", "⚠ marks a model flagged by the organizers (the reason is in Flags and on its page). "
           "Click a row or a model's name to open its page.", "model", fixed=True),
    Column("Overall", "overall", "Mean of the five dimension scores.", "score", fixed=True),
    *[Column(dimension_label(d, short=True), d.value, f"{dimension_label(d)}: mean of its task scores.", "score")
      for d in Dimension],
    Column(STRICT, "strict_accuracy", STRICT_HELP, "figure"),
    Column(ROBUSTNESS, "robustness", ROBUSTNESS_HELP, "figure"),
    Column("Params", "params", "", "params"),
    Column("Type", "type", "", "text"),
    Column("Precision", "precision", "", "text"),
    Column("License", "license", "", "text"),
    Column("Source", "source", SOURCE_HELP, "text"),
    Column("Submitted", "submitted", "", "date"),
    Column("Flags", "flag", "", "flags", sortable=False),
    Column("n", "n_scored", "Scored items (questions with a reference answer).", "count"),
    # model facts from the card and config (leaderboard.model_facts fills them): optional, off unless chosen
    *[Column(label, key, "From the model card and config.", "count" if key == "context_length" else "text",
             visible=False, sortable=False) for label, key in FACT_COLUMNS.items()],
]:
    register_column(_column)
