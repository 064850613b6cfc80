"""What the table shows is what the exports hold; CI display, column choice and sorting."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import ranking, table_view
from leaderboard.labels import params_label, score_with_ci


@pytest.fixture
def frame(engine, world) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return ranking.leaderboard_frame(session)


def test_overview_columns_follow_the_choice(frame):
    table = table_view.overview_table(frame, ["Safety & Ethics", "License", "Flags"], show_ci=False)
    assert list(table.columns) == ["#", "Model", "Overall", "Safety & Ethics", "License", "Flags"]
    assert table["Overall"].tolist() == frame["overall"].round(4).tolist()
    flags = dict(zip(table["Model"], table["Flags"]))
    assert flags["sus/leaky-3b"] == "⚠ flagged: test items found in training data"
    assert flags["tiny/demo-random"] == "demo model"


def test_ci_toggle_shows_intervals(frame):
    table = table_view.overview_table(frame, ["Knowledge"], show_ci=True)
    first = frame.iloc[0]
    assert table["Overall"].iloc[0] == score_with_ci(first["overall"], first["overall_low"], first["overall_high"])
    assert table["Knowledge"].iloc[0].count("[") == 1


def test_dimension_view_has_task_columns(engine, frame):
    with session_scope(engine) as session:
        merged = table_view.with_tasks(frame, ranking.task_frame(session, "safety"))
        understanding_tasks = ranking.task_frame(session, "understanding")
    table = table_view.dimension_table(merged, "safety", show_ci=False)
    assert list(table.columns) == ["#", "Model", "Safety & Ethics", "Robustness", "MedSafety", "DrugCA", "n",
                                   "Flags"]
    assert table["n"].tolist() == [4] * len(table)  # two scored items in each of the two tasks
    understanding = table_view.dimension_table(
        table_view.with_tasks(frame, understanding_tasks), "understanding", False)
    assert "Robustness" not in understanding.columns  # no choice items there


def test_sorting_keeps_missing_values_last(frame):
    by_params = table_view.sort_frame(frame, "params", ascending=True)
    assert by_params["model"].iloc[0] == "tiny/demo-random" and by_params["model"].iloc[-1] == "mystery/no-params"
    by_name = table_view.sort_frame(frame, "model", ascending=False)
    assert by_name["model"].iloc[0] == "zhyi/clinic-14b"
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        table_view.sort_frame(frame, "nope", True)
    assert list(table_view.sort_options("reasoning"))[:3] == ["Reasoning", "Robustness", "DDx-basic"]


def test_exports_hold_exactly_the_shown_table(frame):
    table = table_view.overview_table(frame, list(table_view.OPTIONAL_COLUMNS), show_ci=True)
    csv = table_view.to_csv(table)
    assert csv.startswith("\ufeff".encode("utf-8"))
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == list(table.columns)
    assert back["Model"].tolist() == table["Model"].tolist()
    assert back["Overall"].tolist() == table["Overall"].tolist()
    rows = json.loads(table_view.to_json(table))
    assert len(rows) == len(table) and rows[0]["Model"] == table["Model"].iloc[0]
    assert rows[0]["Overall"] == table["Overall"].iloc[0]


def test_labels():
    assert [params_label(p) for p in (7.6e9, 1.5e9, 1.6e5, None, 14e9)] == ["7.6B", "1.5B", "160K", "unknown", "14B"]
    assert score_with_ci(0.5, None, None) == "0.500" and score_with_ci(None, 0.1, 0.2) == "—"


def test_a_model_listed_in_two_precisions_is_told_apart(frame):
    table = table_view.overview_table(frame, [], show_ci=False)
    assert {"acme/med-7b-chat (bfloat16)", "acme/med-7b-chat (float16)"} <= set(table["Model"])
    assert "zhyi/clinic-14b" in set(table["Model"])  # listed once: the bare name
    only_fp16 = frame[frame["precision"] == "float16"]
    assert "acme/med-7b-chat" in set(table_view.overview_table(only_fp16, [], show_ci=False)["Model"])
