"""From the ranking frame to the table a visitor sees (and exports): column choice, sorting, CI display, the
per-dimension view with task columns. Pure pandas, and one builder for both, so the export holds exactly the
shown rows and columns; only the cells differ (see :data:`Cells`)."""
from __future__ import annotations

import json
from typing import Any, Literal

import pandas as pd

from common.i18n import t, task_label
from evaluator.benchmark.tasks import TASKS
from leaderboard.columns import COLUMNS, Column, column_help, column_title
from leaderboard.labels import (NOT_PINNED, ROBUSTNESS, STRICT, dimension_label, dimension_name, fmt_score,
                                params_label, score_with_ci)

# How score cells are written. "score": '0.083'; "score_ci": '0.083 [0.076, 0.090]' (Show 95% CI);
# "numeric": exports, where a spreadsheet needs numbers, so every score becomes three numeric columns
# (<label>, <label> ci_low, <label> ci_high) whatever the CI toggle, and parameter counts stay counts.
Cells = Literal["score", "score_ci", "numeric"]

OVERVIEW = "overview"


COST_LABEL = "Tokens/answer"  # generation cost column of the dimension views
COST_EXPORT = {"tokens_p95": "Tokens/answer p95", "reasoning_tokens": "Reasoning tokens/answer",
               "device_seconds": "Device seconds"}  # further cost columns in exports


def strict_label(view: str) -> str:
    """The strict-accuracy column's name in a view (as :func:`robustness_label`)."""
    return STRICT if view == OVERVIEW else f"{dimension_label(view, short=True)} {STRICT.lower()}"


def robustness_label(view: str) -> str:
    """The robustness column's name in a view: 'Robustness' (overall) in the overview, 'Knowledge robustness' in
    the Knowledge view, so a reader can tell which figure the column holds."""
    return ROBUSTNESS if view == OVERVIEW else f"{dimension_label(view, short=True)} {ROBUSTNESS.lower()}"


def headers(view: str, lang: str | None = None) -> dict[str, tuple[str, str]]:
    """What the page shows for each column id of ``view``'s table: (title, help) in ``lang`` (default: the page's
    language). The table and its exports keep the ids (``label``s), so a shared ``?cols=`` or a file means the same
    in either language; only the header the visitor reads is translated."""
    shown = {column.label: (column_title(column, lang), column_help(column, lang)) for column in COLUMNS.values()}
    if view == OVERVIEW:
        return shown
    name = dimension_name(view, short=True, lang=lang)
    return {**{label: shown[label] for label in ("#", "Model", "n", "Flags")},
            dimension_label(view, short=True): (name, t("col.dimension.help", lang,
                                                        name=dimension_name(view, lang=lang))),
            strict_label(view): (f"{name} · {t('col.strict_accuracy.title', lang)}",
                                 t("col.strict_accuracy.help", lang)),
            robustness_label(view): (f"{name} · {t('col.robustness.title', lang)}", t("col.robustness.help", lang)),
            COST_LABEL: (t("col.tokens_per_answer.title", lang), t("col.tokens_per_answer.help", lang)),
            **{task: (task_label(task, lang), "") for task, spec in TASKS.items() if spec.dimension == view}}


def sort_options(view: str) -> dict[str, str]:
    """Sortable labels of a view -> the frame column behind each (the first is the view's default)."""
    if view == OVERVIEW:
        sortable = {label: column.key for label, column in COLUMNS.items() if column.sortable}
        return {"Overall": sortable.pop("Overall"), **{k: v for k, v in sortable.items() if k != "Model"},
                "Model": "model"}
    options = {dimension_label(view, short=True): view, strict_label(view): f"{view}_strict_accuracy",
               robustness_label(view): f"{view}_robustness", COST_LABEL: "tokens_per_answer"}
    options.update({task: task for task, spec in TASKS.items() if spec.dimension == view})
    return {**options, "Model": "model"}


def clicked_row(selection: Any) -> int | None:
    """The row a visitor clicked in the ranking (a selected row, else the row of a selected cell); None when
    nothing is selected. ``selection``: st.dataframe's ``event.selection`` ({"rows", "columns", "cells"})."""
    if not selection:
        return None
    rows = list(selection.get("rows") or [])
    cells = list(selection.get("cells") or [])
    if rows:
        return int(rows[0])
    return int(cells[0][0]) if cells else None


def sort_frame(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    """Rows sorted by ``column``, ties by rank; missing values always last."""
    if column not in frame.columns:
        raise ValueError(f"cannot sort by {column!r}")
    return frame.sort_values([column, "rank"], ascending=[ascending, True], na_position="last", kind="stable")


def model_labels(frame: pd.DataFrame) -> pd.Series:
    """Model names, with the precision added where one name is listed more than once (the same model evaluated
    in bf16 and fp16 looked like a duplicate row, the Precision column being off-screen)."""
    twice = frame["model"].duplicated(keep=False)
    return frame["model"].where(~twice, frame["model"] + " (" + frame["precision"].astype(str) + ")")


FLAG_MARK = "⚠ "  # before a flagged model's name in the shown table (the reason is in Flags and on its page)


def marked_labels(frame: pd.DataFrame, cells: Cells) -> pd.Series:
    """Model names as the table shows them: flagged models marked, so a flag is visible without the off-screen
    Flags column. Exports ("numeric") keep the bare names, which other tools match on."""
    labels = model_labels(frame)
    if cells == "numeric" or "flag" not in frame.columns:
        return labels
    flagged = frame["flag"].map(lambda reason: isinstance(reason, str) and bool(reason))
    return labels.where(~flagged.astype(bool), FLAG_MARK + labels)


def flags_text(row: pd.Series) -> str:
    notes = []
    if row.get("demo"):
        notes.append("demo model")
    if row.get("source") == "api":
        notes.append(NOT_PINNED)
    if isinstance(row.get("flag"), str) and row["flag"]:
        notes.append(f"⚠ flagged: {row['flag']}")
    return " · ".join(notes)


def _score_columns(frame: pd.DataFrame, key: str, label: str, cells: Cells) -> dict[str, pd.Series]:
    """The column(s) of one score (``key`` with ``key_low`` / ``key_high`` in ``frame``) under ``label``."""
    if cells == "numeric":
        return {label: frame[key].astype("float64"), f"{label} ci_low": frame[f"{key}_low"].astype("float64"),
                f"{label} ci_high": frame[f"{key}_high"].astype("float64")}
    if cells == "score_ci":
        return {label: pd.Series([score_with_ci(s, lo, hi) for s, lo, hi in
                                  zip(frame[key], frame[f"{key}_low"], frame[f"{key}_high"])], index=frame.index,
                                 dtype="object")}
    return {label: frame[key].map(fmt_score)}


def _figure_column(values: pd.Series, cells: Cells) -> pd.Series:
    """A 0–1 figure without an interval (robustness): a number in exports, else formatted like every score."""
    return values.astype("float64") if cells == "numeric" else values.map(fmt_score)


def _cells(frame: pd.DataFrame, column: Column, cells: Cells) -> dict[str, pd.Series]:
    """The table column(s) of one :class:`leaderboard.columns.Column`, written by its format."""
    values = frame[column.key]
    if column.format == "score":
        return _score_columns(frame, column.key, column.label, cells)
    if column.format == "figure":
        return {column.label: _figure_column(values, cells)}
    if column.format == "params":
        return {column.label: values.astype("Int64") if cells == "numeric" else values.map(params_label)}
    if column.format == "date":
        return {column.label: pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%d")}
    if column.format == "flags":
        return {column.label: frame.apply(flags_text, axis=1) if len(frame) else pd.Series(dtype="string")}
    if column.format == "model":
        return {column.label: marked_labels(frame, cells)}
    if column.format == "count":
        return {column.label: values.astype("Int64")}
    return {column.label: values}


def overview_table(frame: pd.DataFrame, columns: list[str], cells: Cells) -> pd.DataFrame:
    """The overview table: #, Model, Overall, then the chosen optional columns in their registry order."""
    table = pd.DataFrame(index=frame.index)
    for column in COLUMNS.values():
        if column.fixed or column.label in columns:
            table = table.assign(**_cells(frame, column, cells))
    return table


def with_tasks(frame: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """The ranking frame joined with one dimension's task columns (leaderboard.ranking.task_frame)."""
    return frame.merge(tasks, on="run_id", how="left")


def dimension_table(merged: pd.DataFrame, dimension: str, cells: Cells) -> pd.DataFrame:
    """The per-dimension view of :func:`with_tasks`' frame: #, Model, the dimension score, its robustness
    (:func:`robustness_label`), one column per task of the dimension and n (the dimension's scored items)."""
    table = pd.DataFrame({"#": merged["rank"], "Model": marked_labels(merged, cells),
                          **_score_columns(merged, dimension, dimension_label(dimension, short=True), cells)})
    if merged[f"{dimension}_robustness"].notna().any():  # consistency only beside strict accuracy
        table[strict_label(dimension)] = _figure_column(merged[f"{dimension}_strict_accuracy"], cells)
        table[robustness_label(dimension)] = _figure_column(merged[f"{dimension}_robustness"], cells)
    tasks = [t for t, spec in TASKS.items() if spec.dimension == dimension and t in merged.columns]
    for task in tasks:
        table = table.assign(**_score_columns(merged, task, task, cells))
    table["n"] = merged[[f"{t}_n" for t in tasks]].sum(axis=1, min_count=1).astype("Int64") if tasks else pd.NA
    if "tokens_per_answer" in merged.columns:
        cost = merged["tokens_per_answer"].astype("float64")
        table[COST_LABEL] = cost.round(1) if cells == "numeric" else cost.map(
            lambda v: "—" if pd.isna(v) else f"{v:.1f}")
        if cells == "numeric":
            for column, label in COST_EXPORT.items():
                table[label] = merged[column].astype("float64")
    table["Flags"] = merged.apply(flags_text, axis=1) if len(merged) else pd.Series(dtype="string")
    return table


def view_table(shown: pd.DataFrame, view: str, columns: list[str], cells: Cells) -> pd.DataFrame:
    """The table of ``view`` (OVERVIEW with the chosen ``columns``, or a dimension) over the ``shown`` rows."""
    if view == OVERVIEW:
        return overview_table(shown, columns, cells)
    return dimension_table(shown, view, cells)


def score_labels(view: str) -> list[str]:
    """The labels of a view's score columns: the ones that carry an interval when CIs are shown."""
    if view == OVERVIEW:
        return [label for label, column in COLUMNS.items() if column.format == "score"]
    return [dimension_label(view, short=True), *[t for t, spec in TASKS.items() if spec.dimension == view]]


EXPORT_DIGITS = 6  # significant digits of exported figures: 0.025, not 0.025000000000000005


def for_export(table: pd.DataFrame, shown: pd.DataFrame, suite_version: str) -> pd.DataFrame:
    """The "numeric" table as exported: figures rounded to EXPORT_DIGITS significant digits, and each row with
    the model revision (pinned commit) and the suite version its scores come from, so a file stands alone."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: v if pd.isna(v) else float(f"{v:.{EXPORT_DIGITS}g}"))
    out.insert(2, "Revision", shown["revision"].to_numpy() if "revision" in shown.columns else "")
    out["Suite version"] = suite_version
    return out


def to_csv(table: pd.DataFrame) -> bytes:
    """A table (the "numeric" cells of the shown view) as UTF-8 CSV with a BOM, so spreadsheet programs read the
    Chinese text correctly."""
    return table.to_csv(index=False).encode("utf-8-sig")


def to_json(table: pd.DataFrame) -> bytes:
    """A table (the "numeric" cells of the shown view) as a JSON list of row objects (Chinese kept readable)."""
    return json.dumps(json.loads(table.to_json(orient="records", force_ascii=False)), ensure_ascii=False,
                      indent=1).encode("utf-8")
