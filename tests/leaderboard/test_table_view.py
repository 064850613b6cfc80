"""What the table shows is what the exports hold; CI display, column choice and sorting."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import ranking, table_view
from leaderboard.columns import optional_columns
from leaderboard.model_facts import FACT_COLUMNS, with_model_facts
from common.display import plural
from leaderboard.labels import fmt_score, params_label, score_with_ci


@pytest.fixture
def frame(engine, world) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The frame the leaderboard page builds from: the ranking plus the model-fact columns."""
    with session_scope(engine) as session:
        return with_model_facts(session, ranking.leaderboard_frame(session))


def test_model_fact_columns_are_optional_and_read_from_the_stored_facts(engine, world):
    from submissions.tables import ModelEntry

    with session_scope(engine) as session:
        model = session.get(ModelEntry, world.models["zhyi/clinic-14b@bfloat16"].id)
        model.card_data = {**model.card_data, "facts": {
            "organisation": "zhyi", "base_model": ["Qwen/Qwen2.5-14B"], "finetune": "full fine-tune",
            "languages": ["zh", "en"], "link": "https://arxiv.org/abs/2407.10990", "context_length": 32768}}
    with session_scope(engine) as session:
        frame = with_model_facts(session, ranking.leaderboard_frame(session))
    facts = [label for label, column in optional_columns().items() if column.key in FACT_COLUMNS.values()]
    assert len(facts) == 5 and not any(optional_columns()[label].visible for label in facts)  # off by default
    table = table_view.overview_table(frame, ["Organisation", "Base model", "Fine-tuning", "Languages", "Context"],
                                      "score").set_index("Model")
    assert table.loc["zhyi/clinic-14b"].tolist()[-5:] == ["zhyi", "Qwen/Qwen2.5-14B", "full fine-tune", "zh, en", 32768]
    assert table.loc["tiny/demo-random", "Organisation"] == "" and pd.isna(table.loc["tiny/demo-random", "Context"])


def test_overview_columns_follow_the_choice(frame):
    table = table_view.overview_table(frame, ["Safety & Ethics", "License", "Flags"], "score")
    assert list(table.columns) == ["#", "Model", "Overall", "Safety & Ethics", "License", "Flags"]
    assert table["Overall"].tolist() == [f"{v:.3f}" for v in frame["overall"]]
    flags = dict(zip(table["Model"], table["Flags"]))
    assert flags["⚠ sus/leaky-3b"] == "⚠ flagged: test items found in training data"  # marked beside its name too
    assert flags["tiny/demo-random"] == "demo model"
    bare = table_view.overview_table(frame, [], "numeric")["Model"]  # exports keep the bare names
    assert "sus/leaky-3b" in set(bare) and not any(name.startswith("⚠") for name in bare)


def test_ci_toggle_shows_intervals(frame):
    table = table_view.overview_table(frame, ["Knowledge"], "score_ci")
    first = frame.iloc[0]
    assert table["Overall"].iloc[0] == score_with_ci(first["overall"], first["overall_low"], first["overall_high"])
    assert table["Knowledge"].iloc[0].count("[") == 1


def test_dimension_view_has_task_columns(engine, frame):
    with session_scope(engine) as session:
        merged = table_view.with_tasks(frame, ranking.task_frame(session, "safety"))
        understanding_tasks = ranking.task_frame(session, "understanding")
    table = table_view.dimension_table(merged, "safety", "score")
    assert list(table.columns) == ["#", "Model", "Safety & Ethics", "Safety & Ethics strict accuracy",
                                   "Safety & Ethics robustness", "MedSafety", "DrugCA", "n", "Tokens/answer", "Flags"]
    assert table["n"].tolist() == [4] * len(table)  # two scored items in each of the two tasks
    understanding = table_view.dimension_table(
        table_view.with_tasks(frame, understanding_tasks), "understanding", "score")
    assert not [c for c in understanding.columns if "robustness" in c.lower()]  # no choice items there


def test_sorting_keeps_missing_values_last(frame):
    by_params = table_view.sort_frame(frame, "params", ascending=True)
    assert by_params["model"].iloc[0] == "tiny/demo-random" and by_params["model"].iloc[-1] == "mystery/no-params"
    by_name = table_view.sort_frame(frame, "model", ascending=False)
    assert by_name["model"].iloc[0] == "zhyi/clinic-14b"
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        table_view.sort_frame(frame, "nope", True)
    assert list(table_view.sort_options("reasoning"))[:5] == ["Reasoning", "Reasoning strict accuracy",
                                                              "Reasoning robustness", "Tokens/answer", "DDx-basic"]
    assert "Robustness" in table_view.sort_options(table_view.OVERVIEW)  # the overall figure keeps its bare name


def test_exports_hold_the_shown_rows_and_columns_as_numbers(frame):
    shown = table_view.overview_table(frame, list(optional_columns()), "score_ci")
    table = table_view.overview_table(frame, list(optional_columns()), "numeric")
    csv = table_view.to_csv(table)
    assert csv.startswith("\ufeff".encode("utf-8"))
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == list(table.columns)
    assert [c for c in back.columns if c.startswith("Overall")] == ["Overall", "Overall ci_low", "Overall ci_high"]
    assert set(shown.columns) <= set(back.columns)  # every shown column, scores split into three
    # the same rows; the export names carry no flag mark (the Flags column says it)
    assert back["Model"].tolist() == [name.removeprefix(table_view.FLAG_MARK) for name in shown["Model"]]
    assert back["Overall"].tolist() == pytest.approx(frame["overall"].tolist())
    assert back["Knowledge ci_high"].tolist() == pytest.approx(frame["knowledge_high"].tolist())
    assert back["Params"].iloc[0] == str(int(frame["params"].iloc[0]))  # a count, not "3B"
    rows = json.loads(table_view.to_json(table))
    assert len(rows) == len(table) and rows[0]["Model"] == shown["Model"].iloc[0].removeprefix(table_view.FLAG_MARK)
    assert rows[0]["Overall"] == pytest.approx(frame["overall"].iloc[0])
    assert isinstance(rows[0]["Overall ci_low"], float) and isinstance(rows[0]["Robustness"], float)


def test_the_dimension_view_exports_numbers_too(engine, frame):
    with session_scope(engine) as session:
        merged = table_view.with_tasks(frame, ranking.task_frame(session, "reasoning"))
    table = table_view.view_table(merged, "reasoning", [], "numeric")
    assert {"Reasoning", "Reasoning ci_low", "DDx-basic", "DDx-basic ci_high"} <= set(table.columns)
    assert table["DDx-basic"].dtype == "float64" and table["Reasoning robustness"].dtype == "float64"


def test_every_score_has_three_decimals():
    assert [fmt_score(v) for v in (0, 0.0826, 0.6, 1, None, float("nan"))] == [
        "0.000", "0.083", "0.600", "1.000", "—", "—"]
    assert [fmt_score(v, signed=True) for v in (0.0033, -0.0333, 0)] == ["+0.003", "-0.033", "+0.000"]
    assert score_with_ci(0.0812, 0.075, 0.0874) == "0.081 [0.075, 0.087]"


def test_plural():
    assert [plural(1, "evaluation"), plural(0, "model"), plural(2, "item")] == ["1 evaluation", "0 models", "2 items"]


def test_labels():
    assert [params_label(p) for p in (7.6e9, 1.5e9, 1.6e5, None, 14e9)] == ["7.6B", "1.5B", "160K", "unknown", "14B"]
    assert score_with_ci(0.5, None, None) == "0.500" and score_with_ci(None, 0.1, 0.2) == "—"


def test_a_model_listed_in_two_precisions_is_told_apart(frame):
    table = table_view.overview_table(frame, [], "score")
    assert {"acme/med-7b-chat (bfloat16)", "acme/med-7b-chat (float16)"} <= set(table["Model"])
    assert "zhyi/clinic-14b" in set(table["Model"])  # listed once: the bare name
    only_fp16 = frame[frame["precision"] == "float16"]
    assert "acme/med-7b-chat" in set(table_view.overview_table(only_fp16, [], "score")["Model"])


def test_clicked_row_from_a_row_or_a_cell_selection():
    assert table_view.clicked_row(None) is None
    assert table_view.clicked_row({"rows": [], "columns": [], "cells": []}) is None
    assert table_view.clicked_row({"rows": [3], "columns": [], "cells": []}) == 3
    assert table_view.clicked_row({"rows": [], "columns": [], "cells": [[2, "Model"]]}) == 2


def test_exports_round_figures_and_name_revision_and_suite_version(frame):
    noisy = frame.copy()
    noisy.loc[noisy.index[0], "overall"] = 0.025000000000000005
    table = table_view.for_export(table_view.overview_table(noisy, ["Knowledge"], "numeric"), noisy, "abc123" * 4)
    assert list(table.columns)[:3] == ["#", "Model", "Revision"] and list(table.columns)[-1] == "Suite version"
    back = pd.read_csv(io.BytesIO(table_view.to_csv(table)), encoding="utf-8-sig", dtype=str)
    assert back["Overall"].iloc[0] == "0.025"  # not 0.025000000000000005
    assert back["Revision"].tolist() == frame["revision"].tolist() and set(back["Suite version"]) == {"abc123" * 4}
    assert all(len(value.rstrip("0").split(".")[-1]) <= 6 for value in back["Knowledge ci_low"])
    rows = json.loads(table_view.to_json(table))
    assert rows[0]["Overall"] == 0.025 and rows[0]["Revision"] == frame["revision"].iloc[0]
