"""The ranking table and the data version, on SQLite and PostgreSQL, against what the seeder wrote."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlmodel import select

from bench.seed_results import ModelProfile, SeededWorld, add_model, new_run, seed_demo_results, seed_run_results
from common.db import session_scope
from evaluator.tables import DimensionScore, EvalRun, TaskScore
from leaderboard import ranking, runs
from submissions.tables import ModelEntry


@pytest.fixture
def any_world(any_engine) -> SeededWorld:  # type: ignore[no-untyped-def]
    with session_scope(any_engine) as session:
        return seed_demo_results(session)


def test_one_row_per_visible_model_from_its_latest_finished_run_on_the_active_suite(any_engine, any_world):
    with session_scope(any_engine) as session:
        frame = ranking.leaderboard_frame(session)
    visible = {k: r for k, r in any_world.runs.items() if not any_world.models[k].hidden}
    assert len(frame) == len(visible) == 7
    assert sorted(frame["run_id"]) == sorted(r.id for r in visible.values())
    assert "gone/hidden-7b" not in set(frame["model"])  # hidden never appears
    assert "queue/not-yet-run" not in set(frame["model"])  # no finished run yet
    # the earlier run of acme/med-7b-chat (bf16) and the later failed run of its fp16 twin are not used
    acme = frame[(frame["model"] == "acme/med-7b-chat")].set_index("precision")
    assert acme.loc["bfloat16", "run_id"] == any_world.runs["acme/med-7b-chat@bfloat16"].id
    assert acme.loc["float16", "run_id"] == any_world.runs["acme/med-7b-chat@float16"].id


def test_scores_and_counts_are_the_stored_ones_and_rank_follows_overall(any_engine, any_world):
    with session_scope(any_engine) as session:
        frame = ranking.leaderboard_frame(session)
        for row in frame.itertuples():
            stored = {d.dimension: d for d in session.scalars(
                select(DimensionScore).where(DimensionScore.run_id == row.run_id))}
            assert row.overall == pytest.approx(stored["overall"].score)
            assert row.overall_low == pytest.approx(stored["overall"].ci_low)
            assert row.reasoning_high == pytest.approx(stored["reasoning"].ci_high)
            assert row.robustness == pytest.approx(stored["overall"].robustness)
            assert row.safety_robustness == pytest.approx(stored["safety"].robustness)
            n_scored = sum(t.n_scored for t in session.scalars(select(TaskScore).where(TaskScore.run_id == row.run_id)))
            assert row.n_scored == n_scored
    assert list(frame["overall"]) == sorted(frame["overall"], reverse=True)


def test_listing_facts(any_engine, any_world):
    with session_scope(any_engine) as session:
        frame = ranking.leaderboard_frame(session).set_index("model")
    assert frame.loc["zhyi/clinic-14b", "size"] == "9–15B"
    assert frame.loc["mystery/no-params", "size"] == "unknown"
    assert frame.loc["mystery/no-params", "license"] == "unknown"
    assert frame.loc["tiny/demo-random", "demo"]
    assert frame.loc["sus/leaky-3b", "flag"] == "test items found in training data"
    submitted = any_world.runs["zhyi/clinic-14b@bfloat16"].finished_at - timedelta(hours=2)
    assert frame.loc["zhyi/clinic-14b", "submitted"].replace(tzinfo=None) == submitted.replace(tzinfo=None)


def test_task_frame_has_the_dimension_tasks_of_every_ranked_run(any_engine, any_world):
    with session_scope(any_engine) as session:
        tasks = ranking.task_frame(session, "reasoning").set_index("run_id")
        run_id = any_world.runs["zhyi/clinic-14b@bfloat16"].id
        stored = session.scalars(select(TaskScore).where(TaskScore.run_id == run_id,
                                                         TaskScore.task == "DDx-basic")).one()
        with pytest.raises(ValueError, match="unknown dimension 'nope'"):
            ranking.task_frame(session, "nope")
    assert [c for c in tasks.columns if "_" not in c] == ["DDx-basic", "DDx-advanced", "CMB-Clin", "MedTreat"]
    assert len(tasks) == 7
    assert tasks.loc[run_id, "DDx-basic"] == pytest.approx(stored.score)
    assert tasks.loc[run_id, "DDx-basic_n"] == stored.n_scored


def test_empty_database_gives_an_empty_frame(any_engine):
    with session_scope(any_engine) as session:
        assert ranking.leaderboard_frame(session).empty
        assert ranking.task_frame(session, "safety").empty
        assert runs.active_suite_facts(session) is None


def test_size_buckets():
    assert [ranking.size_bucket(p) for p in (5e8, 1.5e9, 7.6e9, 14e9, 7e10, None)] == \
        ["<1B", "1–4B", "4–9B", "9–15B", ">15B", "unknown"]


def test_data_version_changes_when_a_run_finishes_or_a_model_is_hidden(engine, world):
    with session_scope(engine) as session:
        model = add_model(session, ModelProfile("late/arrival"))
        run = new_run(session, model, world.suite, status="running", finished_at=None)
    with session_scope(engine) as session:
        before = runs.data_version(session)
        assert runs.data_version(session) == before  # stable while nothing changes
        run = session.get(EvalRun, run.id)
        seed_run_results(session, run, world.items, ModelProfile("late/arrival"))
    with session_scope(engine) as session:
        assert runs.data_version(session) == before  # rows of a running run change nothing public
        run = session.get(EvalRun, run.id)
        run.status = "finished"
        run.finished_at = world.runs["acme/med-7b-chat@bfloat16"].finished_at + timedelta(days=30)
    with session_scope(engine) as session:
        after_run = runs.data_version(session)
        assert after_run != before
        assert "late/arrival" in set(ranking.leaderboard_frame(session)["model"])
        session.get(ModelEntry, model.id).hidden = True
    with session_scope(engine) as session:
        assert runs.data_version(session) != after_run
        assert "late/arrival" not in set(ranking.leaderboard_frame(session)["model"])


def test_models_whose_intervals_overlap_share_a_rank():
    # the review's case: 0.083 [0.076, 0.090] and 0.081 [0.075, 0.087] cannot be told apart
    score = pd.Series([0.083, 0.081, 0.060, 0.040])
    low = pd.Series([0.076, 0.075, 0.050, 0.030])
    high = pd.Series([0.090, 0.087, 0.077, 0.052])
    # 0.060's interval overlaps both above it; 0.040's lies below the first two but overlaps 0.060's
    assert list(ranking.interval_rank(score, low, high)) == [1, 1, 1, 3]


def test_a_rank_counts_only_the_models_entirely_above():
    score = pd.Series([0.9, 0.5, 0.45, 0.1])
    low = pd.Series([0.85, 0.45, 0.40, 0.05])
    high = pd.Series([0.95, 0.55, 0.50, 0.15])
    assert list(ranking.interval_rank(score, low, high)) == [1, 2, 2, 4]


def test_without_intervals_equal_scores_share_a_rank_and_unscored_models_come_last():
    overall = pd.Series([0.9, 0.5, 0.5 + 1e-12, 0.3, float("nan")])
    missing = pd.Series([float("nan")] * 5)
    assert list(ranking.interval_rank(overall, missing, missing)) == [1, 2, 2, 4, 5]


def test_the_table_is_sorted_by_score_with_interval_ranks(any_engine, any_world):
    with session_scope(any_engine) as session:
        frame = ranking.leaderboard_frame(session)
    scored = frame["overall"].dropna()
    assert list(scored) == sorted(scored, reverse=True) and frame["overall"].iloc[len(scored):].isna().all()
    for row in frame.itertuples():
        assert row.rank == 1 + int((frame["overall_low"] > row.overall_high).sum())
