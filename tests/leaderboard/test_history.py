"""History: a model's scores across suite versions and evaluator versions, and the leaderboard of an earlier
suite version (``?suite=``), on the seeded database (suites "old" and "seed", every model run on both)."""
from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlmodel import select

from common.db import session_scope
from evaluator.engine.scoring import score_run
from evaluator.score_history import model_history
from evaluator.tables import DimensionScore, EvalRun, ScoreSnapshot, Suite
from leaderboard import ranking
from leaderboard.runs import SuiteNotFound, ranked_suites, resolve_suite, suite_label
from tests.leaderboard.conftest import page
from tests.pages import shown

MODEL = "zhyi/clinic-14b@bfloat16"


def old_suite(engine) -> Suite:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.scalars(select(Suite).where(Suite.name == "old")).one()


def test_resolve_suite_by_id_and_name_at_version(engine, world):
    old = old_suite(engine)
    with session_scope(engine) as session:
        assert resolve_suite(session, str(old.id)).id == old.id
        assert resolve_suite(session, suite_label(old.name, old.version)).id == old.id
        assert resolve_suite(session, f"old@{old.version}").id == old.id
        for bad, words in (("999", "no suite with id 999"), ("old@abc", "at least 6 characters"),
                           ("nope@abcdef", "There is no suite 'nope@abcdef'"), ("old", "use a suite id")):
            with pytest.raises(SuiteNotFound, match=words):
                resolve_suite(session, bad)
        assert [s["name"] for s in ranked_suites(session)] == ["seed", "old"]


def test_an_earlier_suite_version_has_its_own_ranking(engine, world):
    old = old_suite(engine)
    with session_scope(engine) as session:
        now = ranking.leaderboard_frame(session)
        before = ranking.leaderboard_frame(session, suite_id=old.id)
        task_before = ranking.task_frame(session, "safety", suite_id=old.id)
    assert set(before["run_id"]).isdisjoint(now["run_id"])  # the old suite's runs, not the active suite's
    assert len(before) == len(now) and set(task_before["run_id"]) == set(before["run_id"])
    assert before.set_index("model")["overall"].to_dict() != now.set_index("model")["overall"].to_dict()


def test_leaderboard_page_shows_an_earlier_suite_from_the_url(engine, world):
    old = old_suite(engine)
    app = page("leaderboard", suite=suite_label(old.name, old.version))
    assert not app.exception
    assert any(f"An earlier suite version: **{suite_label(old.name, old.version)}**" in shown(i.value)
               for i in app.info)
    assert app.selectbox(key="suite_pick").value == old.id
    with session_scope(engine) as session:
        expected = ranking.leaderboard_frame(session, suite_id=old.id)["overall"].map("{:.3f}".format).tolist()
    assert app.dataframe[0].value["Overall"].tolist() == expected
    app.selectbox(key="suite_pick").set_value(world.suite.id).run()  # back to the active suite
    assert "suite" not in app.query_params and not any("earlier suite" in shown(i.value) for i in app.info)


def test_leaderboard_page_explains_a_bad_suite_value(world):
    app = page("leaderboard", suite="nope@abcdef")
    assert not app.exception
    assert [shown(w.value) for w in app.warning] == ["There is no suite 'nope@abcdef'. Showing the active suite."]


def test_model_history_across_suites_and_a_rescoring(engine, world):
    model_id = world.models[MODEL].id
    run_id = world.runs[MODEL].id
    with session_scope(engine) as session:
        run = session.get(EvalRun, run_id)
        run.evaluator_version = "0.9-old"  # as if scored by an older evaluator
        before = session.scalars(select(DimensionScore).where(DimensionScore.run_id == run_id,
                                                              DimensionScore.dimension == "overall")).one().score
    score_run(run_id, engine=engine)  # the real re-scoring: keeps the scores it replaces
    score_run(run_id, engine=engine)  # again under the same version: kept once
    with session_scope(engine) as session:
        (snapshot,) = session.scalars(select(ScoreSnapshot).where(ScoreSnapshot.run_id == run_id)).all()
        history = model_history(session, model_id)
    assert snapshot.evaluator_version == "0.9-old" and snapshot.scores["overall"]["score"] == pytest.approx(before)
    suites = [(h["suite"], h["evaluator_version"], h["current"]) for h in history]
    assert ("seed", "0.9-old", True) in suites and ("seed", "0.9-old", False) in suites
    assert {"old", "seed"} <= {h["suite"] for h in history}
    assert history[0]["finished_at"] >= history[-1]["finished_at"]  # newest first


def test_model_page_shows_the_history_with_links_to_each_suite_ranking(engine, world):
    old = old_suite(engine)
    app = page("model", model=str(world.models[MODEL].id))
    table = next(d.value for d in app.dataframe if "Suite version" in d.value.columns)
    assert set(table["Suite version"]) == {suite_label("seed", world.suite.version), suite_label("old", old.version)}
    assert unquote(table.set_index("Suite version").loc[suite_label("old", old.version), "Leaderboard"]) == \
        f"/?suite={suite_label('old', old.version)}"
