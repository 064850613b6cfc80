"""Opening a model by id or hub id, its report, and the reproducibility card."""
from __future__ import annotations

import shlex

import pytest
from sqlmodel import select

from common.db import session_scope
from evaluator.tables import DimensionScore, TaskScore
from leaderboard.model_report import ModelNotFound, model_report, resolve_model


def test_resolve_by_id_and_by_hub_id(engine, world):
    bf16 = world.models["acme/med-7b-chat@bfloat16"]
    fp16 = world.models["acme/med-7b-chat@float16"]
    with session_scope(engine) as session:
        assert resolve_model(session, bf16.id).id == bf16.id
        assert resolve_model(session, f" {fp16.id} ").id == fp16.id
        # two entries share the hub id: the one whose run on the active suite finished last
        assert resolve_model(session, "acme/med-7b-chat").id == fp16.id
        assert resolve_model(session, "queue/not-yet-run").hub_id == "queue/not-yet-run"


@pytest.mark.parametrize("ref, message", [
    ("", "No model chosen"), (None, "No model chosen"), ("424242", "no public model with id 424242"),
    ("gone/hidden-7b", "no public model named 'gone/hidden-7b'"), ("nobody/none", "no public model named"),
])
def test_unknown_or_hidden_models_are_not_found(engine, world, ref, message):
    hidden_id = world.models["gone/hidden-7b@bfloat16"].id
    with session_scope(engine) as session:
        with pytest.raises(ModelNotFound, match=message):
            resolve_model(session, ref)
        with pytest.raises(ModelNotFound, match=f"no public model with id {hidden_id}"):
            resolve_model(session, str(hidden_id))


def test_report_holds_the_latest_runs_scores(engine, world):
    key = "zhyi/clinic-14b@bfloat16"
    run = world.runs[key]
    with session_scope(engine) as session:
        report = model_report(session, "zhyi/clinic-14b")
        tasks = {t.task: t for t in session.scalars(select(TaskScore).where(TaskScore.run_id == run.id))}
        dims = {d.dimension: d for d in session.scalars(select(DimensionScore).where(DimensionScore.run_id == run.id))}
    assert report.run["id"] == run.id
    assert list(report.tasks["task"])[:2] == ["Med-Exam", "MedHC"] and len(report.tasks) == 20
    for row in report.tasks.itertuples():
        assert row.score == pytest.approx(tasks[row.task].score)
        assert row.ci_low == pytest.approx(tasks[row.task].ci_low)
    by_dim = report.dimensions.set_index("dimension")
    assert list(by_dim.index) == ["overall", "knowledge", "understanding", "generation", "reasoning", "safety"]
    assert by_dim.loc["safety", "robustness"] == pytest.approx(dims["safety"].robustness)
    assert by_dim.loc["reasoning", "error_counts"] == dims["reasoning"].extras["error_counts"]
    assert by_dim.loc["knowledge", "position_bias"] == dims["knowledge"].extras["position_bias"]
    assert report.unscored_items == 20 and report.scored_items == 40  # one unscored item per task


def test_reproducibility_card_and_command(engine, world):
    model = world.models["zhyi/clinic-14b@bfloat16"]
    with session_scope(engine) as session:
        report = model_report(session, model.id)
    run = report.run
    assert run["suite_version"] == world.suite.version and run["evaluator_version"]
    assert run["run_spec"]["revision"] == model.commit_sha and run["run_spec"]["seed"] == 1234
    assert run["environment"]["transformers"] == "5.24.0"
    command, _, comment = run["command"].partition("  # ")
    args = shlex.split(command)
    assert args[:4] == ["python", "cli.py", "eval", "run"]
    options = dict(zip(args[4::2], args[5::2]))
    assert options == {"--model": "zhyi/clinic-14b", "--revision": model.commit_sha, "--suite": "seed",
                       "--dtype": "bfloat16", "--seed": "1234", "--k": "5", "--backend": "transformers",
                       "--device": "cpu", "--protocol": "generate"}  # device: what the run used (environment)
    assert comment == f"expects suite 'seed' at version {world.suite.version}"


def test_the_command_names_the_hub_id_and_the_backend_and_device_actually_used():
    from leaderboard.model_report import reproduce_command

    spec = {"model": "demo/tiny-random-1", "local_path": "/srv/medbench/models/demo/tiny-random-1", "revision": "abc",
            "dtype": "auto", "seed": 0, "k": 5}
    execution = {"backend": "auto", "device": "auto"}
    command = reproduce_command(spec, execution, "demo", "v1", {"backend": "transformers", "device": "cpu:x86_64"})
    assert "/srv" not in command and "--model demo/tiny-random-1" in command
    assert "--backend transformers" in command and "--device cpu" in command
    pinned = reproduce_command(spec, {"backend": "vllm", "device": "cuda"}, "demo", "v1", {"backend": "x"})
    assert "--backend vllm" in pinned and "--device cuda" in pinned  # what the execution spec fixed stays


def test_the_card_shows_what_fixed_the_numbers_apart_from_how_the_run_ran(engine, world):
    """run_facts splits the two specs, also for a row stored before the split (its run_spec holding the execution
    keys), and the public card drops the placing worker's host name."""
    from evaluator.tables import EvalRun
    from leaderboard.model_report import public_run_facts

    model = world.models["zhyi/clinic-14b@bfloat16"]
    with session_scope(engine) as session:
        run = session.get(EvalRun, world.runs["zhyi/clinic-14b@bfloat16"].id)
        run.run_spec = {**run.run_spec, "backend": "vllm", "device": "cuda", "tensor_parallel": 2}
        run.execution_spec = {"placement": {"worker": "gpu-7.internal:42:cuda", "device": "cuda", "gpus": 8}}
    with session_scope(engine) as session:
        card = model_report(session, model.id).run
    assert "backend" not in card["run_spec"] and card["run_spec"]["seed"] == 1234
    assert (card["execution_spec"]["backend"], card["execution_spec"]["tensor_parallel"]) == ("vllm", 2)
    assert "--backend vllm" in card["command"] and "--device cuda" in card["command"]
    public = public_run_facts(card)
    assert public["execution_spec"]["placement"] == {"device": "cuda", "gpus": 8}
    assert card["execution_spec"]["placement"]["worker"] == "gpu-7.internal:42:cuda"  # organizers see it


def test_a_model_without_a_finished_run_has_no_run(engine, world):
    with session_scope(engine) as session:
        report = model_report(session, "queue/not-yet-run")
    assert report.run is None and report.suite["name"] == "seed" and report.tasks.empty


def _set_task_score(engine, run_id: int, task: str, score: float, low: float,  # type: ignore[no-untyped-def]
                    high: float) -> None:
    with session_scope(engine) as session:
        row = session.scalars(select(TaskScore).where(TaskScore.run_id == run_id, TaskScore.task == task)).one()
        row.score, row.ci_low, row.ci_high = score, low, high


def test_a_yes_no_task_at_exactly_one_half_is_named_as_position_only(engine, world):
    run_id = world.runs["tiny/demo-random@float32"].id
    with session_scope(engine) as session:
        assert model_report(session, "tiny/demo-random").position_only_tasks == []
    _set_task_score(engine, run_id, "DrugCA", 0.5, 0.5, 0.5)
    _set_task_score(engine, run_id, "MedSafety", 0.5, 0.5, 0.5)  # single choice: 0.5 means nothing special
    with session_scope(engine) as session:
        assert model_report(session, "tiny/demo-random").position_only_tasks == ["DrugCA"]
    _set_task_score(engine, run_id, "DrugCA", 0.5, 0.4, 0.6)  # a real interval: a model that varies
    with session_scope(engine) as session:
        assert model_report(session, "tiny/demo-random").position_only_tasks == []
