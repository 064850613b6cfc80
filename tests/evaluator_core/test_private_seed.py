"""The option orders of a private suite's runs come from the server's secret (evaluator.engine.order_secret): a submitter
cannot precompute them; two secrets give different orders; the run keeps its seed, so resuming and re-scoring
reproduce it exactly; the seed never reaches the public reproducibility card."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session, select

from common.settings import get_settings
from evaluator.engine.order_secret import SECRET_FILE, permutation_seed
from evaluator.engine.execution import execute_run
from evaluator.engine.scoring import score_run
from evaluator.engine.spec import RunSpec
from evaluator.engine.units import create_run, plan_units, selected_items
from evaluator.benchmark.suites.visibility import PUBLIC, set_visibility
from evaluator.tables import DimensionScore, EvalRun, ItemResult, Suite, TaskScore
from leaderboard.model_report import public_run_facts, run_facts
from tests.evaluator_core.helpers import make_model, make_suite, single_items


def orders(session: Session, run_id: int) -> list[list[str]]:
    """The stored permutation of every (item, order) of a run, from the planned units of its spec."""
    run = session.get(EvalRun, run_id)
    spec = RunSpec.model_validate(run.run_spec)
    return [u.permutation for u in plan_units(selected_items(session, spec, run.suite_id), spec)]


def use_secret(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    if secret is None:
        monkeypatch.delenv("MEDBENCH_PERMUTATION_SECRET", raising=False)
    else:
        monkeypatch.setenv("MEDBENCH_PERMUTATION_SECRET", secret)
    get_settings.cache_clear()


def test_two_secrets_give_two_orders_and_one_secret_the_same(  # type: ignore[no-untyped-def]
        engine, tiny_models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", single_items("ABCDEABCDE"))
        model = make_model(session, tiny_models["letter_a"], "a")
        use_secret(monkeypatch, "first secret")
        first = create_run(session, model, suite).id
        again = create_run(session, model, suite).id
        use_secret(monkeypatch, "second secret")
        second = create_run(session, model, suite).id
        set_visibility(session, suite.id, PUBLIC, actor=None)
        public = create_run(session, model, suite).id
        session.commit()
        specs = {r: session.get(EvalRun, r).run_spec for r in (first, again, second, public)}
        assert specs[first]["permutation_seed"] == permutation_seed(suite.version, 0, b"first secret")
        assert specs[first]["seed"] == specs[second]["seed"] == 0  # the public seed is the same
        assert specs[public]["permutation_seed"] is None
        assert orders(session, first) == orders(session, again)
        assert orders(session, first) != orders(session, second)
        assert orders(session, public) != orders(session, first)


def test_a_generated_secret_is_kept_in_the_data_folder(  # type: ignore[no-untyped-def]
        engine, settings_env, monkeypatch) -> None:
    use_secret(monkeypatch, None)
    seed = permutation_seed("v1", 0)
    path = settings_env.data_dir / SECRET_FILE
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600" and len(path.read_text()) == 64
    assert permutation_seed("v1", 0) == seed != permutation_seed("v1", 1) and seed != permutation_seed("v2", 0)
    os.unlink(path)
    assert permutation_seed("v1", 0) != seed  # a new server secret, new orders


def test_the_run_resumes_and_rescores_exactly_and_hides_its_seed(  # type: ignore[no-untyped-def]
        engine, tiny_models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_secret(monkeypatch, "kept on the server")
    with Session(engine) as session:
        suite_id = make_suite(session, tmp_path / "suite", single_items("ABCDE")).id
        run_id = create_run(session, make_model(session, tiny_models["random"], "r"), session.get(Suite, suite_id)).id
        session.commit()
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)

    def snapshot() -> tuple[list, list, list]:
        with Session(engine) as session:
            rows = [(r.item_id, r.order_index, r.permutation, r.parsed_answer, r.correct, r.score, r.error_primary)
                    for r in session.exec(select(ItemResult).where(ItemResult.run_id == run_id)
                                          .order_by(ItemResult.item_id, ItemResult.order_index))]
            tasks = [(t.task, t.score, t.ci_low, t.ci_high, t.extras) for t in
                     session.exec(select(TaskScore).where(TaskScore.run_id == run_id))]
            dims = [(d.dimension, d.score, d.ci_low, d.ci_high, d.robustness) for d in
                    session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)
                                 .order_by(DimensionScore.dimension))]
            return rows, tasks, dims

    before = snapshot()
    use_secret(monkeypatch, "another server")  # re-scoring and resuming use the stored seed, not today's secret
    score_run(run_id, engine=engine)
    assert snapshot() == before
    with Session(engine) as session:
        assert [row[2] for row in before[0]] == orders(session, run_id)  # a resumed run asks the same orders
        facts = run_facts(session.get(EvalRun, run_id), session.get(Suite, suite_id))
    assert "permutation_seed" in facts["run_spec"]  # organizers see it
    public = public_run_facts(facts)
    assert "permutation_seed" not in public["run_spec"]
    assert str(facts["run_spec"]["permutation_seed"]) not in repr(public)
