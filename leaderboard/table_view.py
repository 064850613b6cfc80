"""From the ranking frame to the table a visitor sees (and exports): column choice, sorting, CI display, the
per-dimension view with task columns. Pure pandas, so what is shown and what is exported are the same frame."""
from __future__ import annotations

import json

import pandas as pd

from evaluator.tasks import TASKS
from leaderboard.labels import dimension_label, params_label, score_with_ci
from leaderboard.ranking import DIMENSIONS

OVERVIEW = "overview"
# optional columns of the overview: label -> frame column it is built from
OPTIONAL_COLUMNS: dict[str, str] = {
    **{dimension_label(d, short=True): d for d in DIMENSIONS},
    "Robustness": "robustness", "Params": "params", "Type": "type", "Precision": "precision",
    "License": "license", "Submitted": "submitted", "Flags": "flag", "n": "n_scored",
}


def sort_options(view: str) -> dict[str, str]:
    """Sortable labels of a view -> the frame column behind each (the first is the view's default)."""
    if view == OVERVIEW:
        return {"Overall": "overall", **{k: v for k, v in OPTIONAL_COLUMNS.items() if k != "Flags"}, "Model": "model"}
    options = {dimension_label(view, short=True): view, "Robustness": f"{view}_robustness"}
    options.update({task: task for task, spec in TASKS.items() if spec.dimension == view})
    return {**options, "Model": "model"}


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


def flags_text(row: pd.Series) -> str:
    notes = []
    if row.get("demo"):
        notes.append("demo model")
    if isinstance(row.get("flag"), str) and row["flag"]:
        notes.append(f"⚠ flagged: {row['flag']}")
    return " · ".join(notes)


def _score_column(frame: pd.DataFrame, key: str, show_ci: bool) -> pd.Series:
    if not show_ci:
        return frame[key].astype("float64").round(4)
    return pd.Series([score_with_ci(s, lo, hi) for s, lo, hi in
                      zip(frame[key], frame[f"{key}_low"], frame[f"{key}_high"])], index=frame.index)


def overview_table(frame: pd.DataFrame, columns: list[str], show_ci: bool) -> pd.DataFrame:
    """The overview table: #, Model, Overall, then the chosen optional columns in their fixed order."""
    table = pd.DataFrame({"#": frame["rank"], "Model": model_labels(frame),
                          "Overall": _score_column(frame, "overall", show_ci)})
    for label, column in OPTIONAL_COLUMNS.items():
        if label not in columns:
            continue
        if column in DIMENSIONS:
            table[label] = _score_column(frame, column, show_ci)
        elif column == "robustness":
            table[label] = frame[column].astype("float64").round(4)
        elif column == "params":
            table[label] = frame[column].map(params_label)
        elif column == "submitted":
            table[label] = pd.to_datetime(frame[column], utc=True).dt.strftime("%Y-%m-%d")
        elif column == "flag":
            table[label] = frame.apply(flags_text, axis=1) if len(frame) else pd.Series(dtype="string")
        elif column == "n_scored":
            table[label] = frame[column].astype("Int64")
        else:
            table[label] = frame[column]
    return table


def with_tasks(frame: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """The ranking frame joined with one dimension's task columns (leaderboard.ranking.task_frame)."""
    return frame.merge(tasks, on="run_id", how="left")


def dimension_table(merged: pd.DataFrame, dimension: str, show_ci: bool) -> pd.DataFrame:
    """The per-dimension view of :func:`with_tasks`' frame: #, Model, the dimension score, its robustness, one
    column per task of the dimension and n (the dimension's scored items)."""
    label = dimension_label(dimension, short=True)
    table = pd.DataFrame({"#": merged["rank"], "Model": model_labels(merged),
                          label: _score_column(merged, dimension, show_ci)})
    if merged[f"{dimension}_robustness"].notna().any():
        table["Robustness"] = merged[f"{dimension}_robustness"].astype("float64").round(4)
    tasks = [t for t, spec in TASKS.items() if spec.dimension == dimension and t in merged.columns]
    for task in tasks:
        table[task] = _score_column(merged, task, show_ci)
    table["n"] = merged[[f"{t}_n" for t in tasks]].sum(axis=1, min_count=1).astype("Int64") if tasks else pd.NA
    table["Flags"] = merged.apply(flags_text, axis=1) if len(merged) else pd.Series(dtype="string")
    return table


def to_csv(table: pd.DataFrame) -> bytes:
    """The shown table as UTF-8 CSV with a BOM, so spreadsheet programs read the Chinese text correctly."""
    return table.to_csv(index=False).encode("utf-8-sig")


def to_json(table: pd.DataFrame) -> bytes:
    """The shown table as a JSON list of row objects (Chinese kept readable)."""
    return json.dumps(json.loads(table.to_json(orient="records", force_ascii=False)), ensure_ascii=False,
                      indent=1).encode("utf-8")
