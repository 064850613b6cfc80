"""Runs of both answer protocols coexist: the leaderboard ranks one protocol at a time (the official ``generate``
by default, ``?protocol=logprob`` for the fast one) and every page says which protocol its scores come from."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bench.seed_results import BASE_TIME, ModelProfile, new_run, seed_run_results
from common.db import session_scope
from leaderboard import ranking
from leaderboard.model_report import model_report
from leaderboard.runs import latest_runs
from tests.leaderboard.conftest import page
from tests.leaderboard.test_pages import table, texts

KEY = "zhyi/clinic-14b@bfloat16"


@pytest.fixture
def both(engine, world):  # type: ignore[no-untyped-def]
    """The seeded world plus a newer logprob run of one model (a newer run must not replace its official one)."""
    with session_scope(engine) as session:
        model = world.models[KEY]
        run = new_run(session, model, world.suite, finished_at=BASE_TIME + timedelta(days=30), protocol="logprob")
        seed_run_results(session, run, world.items, ModelProfile(model.hub_id, skill=0.2, seed=5))
        return world, run.id


def test_each_protocol_ranks_its_own_runs(engine, both):
    world, logprob_run = both
    with session_scope(engine) as session:
        official = ranking.leaderboard_frame(session)
        fast = ranking.leaderboard_frame(session, "logprob")
        with pytest.raises(ValueError, match="unknown answer protocol 'letters'"):
            latest_runs(world.suite.id, "letters")
    assert official.set_index("model_id").loc[world.models[KEY].id, "run_id"] == world.runs[KEY].id
    assert len(official) == 7 and list(fast["run_id"]) == [logprob_run]


def test_model_report_picks_the_run_of_the_asked_protocol(engine, both):
    world, logprob_run = both
    model_id = world.models[KEY].id
    with session_scope(engine) as session:
        default = model_report(session, model_id)
        fast = model_report(session, model_id, "logprob")
    assert default.protocol == "generate" and default.run["id"] == world.runs[KEY].id
    assert default.protocols == ["generate", "logprob"]
    assert fast.run["id"] == logprob_run and fast.run["protocol"] == "logprob"
    assert "--protocol logprob" in fast.run["command"]


def test_leaderboard_page_switches_protocol_by_url(engine, both):
    app = page("leaderboard")
    assert not app.exception and len(table(app)) == 7
    assert any("under the **generate** protocol (official)" in m.value for m in app.markdown)
    app = page("leaderboard", protocol="logprob")
    assert not app.exception and list(table(app)["Model"]) == ["zhyi/clinic-14b"]
    assert any("**logprob** protocol (fast, not the official ranking)" in m.value for m in app.markdown)
    app = page("leaderboard", protocol="letters")
    assert any("Ignored unknown value 'letters' for 'protocol'" in w for w in texts(app.warning))


def test_model_page_names_its_protocol_and_offers_the_other(engine, both):
    world, _ = both
    model_id = str(world.models[KEY].id)
    app = page("model", model=model_id)
    assert not app.exception
    assert any("Answer protocol: **generate**" in c.value for c in app.caption)
    app = page("model", model=model_id, protocol="logprob")
    assert any("Answer protocol: **logprob**" in c.value for c in app.caption)
    assert app.radio[0].value == "logprob"
    other = page("model", model=str(world.models["open/base-1.5b@bfloat16"].id))
    assert len(other.radio) == 0  # one protocol only: nothing to switch
