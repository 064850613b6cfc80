"""The demo bootstrap: the bundled suite, three tiny local demo models queued as approved by "system", the real
hub model only where the hub answers, and nothing new on a second run or once results exist."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from common.settings import get_settings
from evaluator.ops.demo import bootstrap_demo
from evaluator.ops.leases import end_run
from evaluator.tables import EvalRun, Suite
from evaluator.engine.tiny_models import folder_sha
from submissions.tables import ModelEntry, Submission, SubmissionEvent
from tests.hub_stub import HubStub
from tests.worker.factories import add_model, add_pending_run


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub address that refuses connections, as on an offline machine."""
    stub = HubStub.start()
    url = stub.url
    stub.stop()
    monkeypatch.setenv("HF_ENDPOINT", url)


def counts(engine) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return tuple(s.exec(select(func.count()).select_from(t)).one()  # type: ignore[return-value]
                     for t in (Suite, ModelEntry, Submission, SubmissionEvent))


def test_bootstrap_queues_three_tiny_models_once(engine, no_hub) -> None:
    report = bootstrap_demo(engine)

    names = ["demo/tiny-random-1", "demo/tiny-random-2", "demo/tiny-always-a"]
    # each as an approved submission (the worker runs it under the official generate protocol) and as a pending
    # logprob run, so that both protocols' leaderboards show the demo
    assert report.queued == [x for name in names for x in (name, f"{name} (logprob)")]
    assert report.hub_model.endswith("skipped (the model hub could not be reached)")  # in words, not "(ConnectError)"
    cache = Path(get_settings().model_cache_dir) / "demo"
    with Session(engine) as s:
        suite = s.exec(select(Suite)).one()
        assert (suite.name, suite.active) == ("demo", True) and suite.item_count > 100
        models = s.exec(select(ModelEntry).order_by(ModelEntry.id)).all()
        for model in models:
            folder = Path(model.local_path)
            assert folder.parent == cache.resolve() and (folder / "model.safetensors").is_file()
            assert model.commit_sha == folder_sha(folder)
            assert (model.is_demo, model.license, model.precision) == (True, "apache-2.0", "float32")
            assert 0 < model.params < 1_000_000
            (sub,) = s.exec(select(Submission).where(Submission.model_id == model.id)).all()
            event = s.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id == sub.id)).one()
            assert (sub.state, event.to_state, event.actor_name) == ("approved", "approved", "system")
        assert len({m.commit_sha for m in models}) == 3  # three different models
        runs = s.exec(select(EvalRun)).all()
        assert sorted((r.model_id, r.protocol, r.status, r.submission_id) for r in runs) == [
            (m.id, "logprob", "pending", None) for m in models]
    before = counts(engine)

    again = bootstrap_demo(engine)
    assert (again.queued, again.models_built) == ([], [])
    assert counts(engine) == before
    assert "queued: nothing new" in again.lines()


def test_reachable_hub_adds_the_real_demo_model(engine, hub, tiny_models) -> None:
    sha = hub.add_repo("org/real-demo", tiny_models["letter_a"])
    settings = get_settings().model_copy(update={"demo_hub_model": "org/real-demo"})

    report = bootstrap_demo(engine, settings)

    assert report.queued[-1] == "org/real-demo" and report.hub_model == f"org/real-demo@{sha[:12]} queued"
    with Session(engine) as s:
        entry = s.exec(select(ModelEntry).where(ModelEntry.hub_id == "org/real-demo")).one()
        assert (entry.commit_sha, entry.is_demo, entry.local_path, entry.license) == (sha, True, None, "apache-2.0")
        assert s.exec(select(Submission.state).where(Submission.model_id == entry.id)).one() == "approved"
    assert bootstrap_demo(engine, settings).hub_model == f"org/real-demo@{sha[:12]} already queued"


def test_nothing_happens_once_results_exist_or_when_switched_off(engine, no_hub) -> None:
    off = get_settings().model_copy(update={"demo_models": False})
    assert bootstrap_demo(engine, off).lines() == ["demo: demo models are off (MEDBENCH_DEMO_MODELS=false)"]
    assert counts(engine) == (0, 0, 0, 0)

    with Session(engine) as s:
        s.add(Suite(name="real", version="v" * 64, active=True))
        s.commit()
        suite_id = s.exec(select(Suite.id)).one()
    run_id, _ = add_pending_run(engine, suite_id, add_model(engine, "org/real"))
    end_run(engine, run_id, None, "finished")
    before = counts(engine)
    assert bootstrap_demo(engine).skipped == "the leaderboard already has finished runs; nothing to do"
    assert counts(engine) == before
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(EvalRun)).one() == 1
