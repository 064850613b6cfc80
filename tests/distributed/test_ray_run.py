"""Runs sharded over a local Ray cluster (2 CPU actors) with tiny models: the same rows as one process, nothing
lost when an actor is killed mid-run, cancel and resume as on one machine, plain errors that change nothing."""
from __future__ import annotations

import shutil

import pytest
from sqlmodel import Session, func, select

from evaluator.engine.distributed import RAY_NAMESPACE, DistributedError, execute_run_distributed
from evaluator.engine.execution import RunStopped, execute_run
from evaluator.engine.runners import ModelLoadError
from evaluator.tables import EvalRun, ItemResult
from tests.distributed.conftest import assert_same_results, new_runs, results


def run_row(engine, run_id: int) -> EvalRun:
    with Session(engine) as session:
        return session.get(EvalRun, run_id)


def row_count(engine, run_id: int) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(ItemResult).where(ItemResult.run_id == run_id)).one()


def live_actors_of(ray, run_id: int) -> list[str]:
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == RAY_NAMESPACE]
    return [n for n in names if n.startswith(f"run{run_id}-")]


def test_sharded_run_gives_the_single_process_rows(ray_cluster, pg_engine, tiny_models):
    single, sharded = new_runs(pg_engine, tiny_models["letter_a"])  # random bytes hold NULs PostgreSQL refuses
    execute_run(single, engine=pg_engine)
    seen: list[tuple[int, int]] = []
    execute_run_distributed(sharded, num_actors=2, engine=pg_engine, on_progress=lambda d, t: seen.append((d, t)))

    assert_same_results(results(pg_engine, single), results(pg_engine, sharded))
    run = run_row(pg_engine, sharded)
    assert run.progress_done == run.progress_total == row_count(pg_engine, sharded) == seen[-1][0]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    spread = run.environment["distributed"]
    assert spread["actors"] == 2 and spread["actor_restarts"] == 0
    assert len(spread["shards"]) == 2 and all(s["units"] > 0 and s["busy_s"] > 0 for s in spread["shards"])
    assert sum(s["units"] for s in spread["shards"]) == run.progress_total
    assert run.environment["backend"] == "transformers" and run.environment["dtype"] == "float32"
    assert run.environment["chunk_items"] == 16  # unset in the spec: the CPU default, recorded as execute_run does
    assert live_actors_of(ray_cluster, sharded) == []


def test_killing_an_actor_mid_run_loses_nothing(ray_cluster, engine, tiny_models):
    # 4 chunks per shard: shard 0 still has work when its actor is killed after the first commit
    single, sharded = new_runs(engine, tiny_models["random"], chunk_items=1, limit_per_task=2)
    execute_run(single, engine=engine)
    killed: list[str] = []

    def kill_once(done: int, total: int) -> None:
        if not killed and done < total:
            (name,) = [n for n in live_actors_of(ray_cluster, sharded) if n.startswith(f"run{sharded}-shard0-gen0-")]
            ray_cluster.kill(ray_cluster.get_actor(name, namespace=RAY_NAMESPACE), no_restart=True)
            killed.append(name)

    execute_run_distributed(sharded, num_actors=2, engine=engine, on_progress=kill_once)

    assert killed
    assert_same_results(results(engine, single), results(engine, sharded))
    run = run_row(engine, sharded)
    assert run.environment["distributed"]["actor_restarts"] == 1
    assert run.progress_done == run.progress_total == row_count(engine, sharded)


def test_a_shard_whose_actors_keep_dying_fails_plainly_and_keeps_its_rows(ray_cluster, engine, tiny_models):
    (run_id,) = new_runs(engine, tiny_models["letter_a"], count=1, chunk_items=1)

    def kill_every_time(done: int, total: int) -> None:
        for name in live_actors_of(ray_cluster, run_id):
            ray_cluster.kill(ray_cluster.get_actor(name, namespace=RAY_NAMESPACE), no_restart=True)

    with pytest.raises(DistributedError, match="shard 0 lost its actor 1 time; last: "):
        execute_run_distributed(run_id, num_actors=1, engine=engine, chunks_in_flight=1, max_actor_restarts=0,
                                on_progress=kill_every_time)
    kept = row_count(engine, run_id)
    assert kept == run_row(engine, run_id).progress_done > 0  # the committed chunk stays, progress says so
    assert live_actors_of(ray_cluster, run_id) == []


def test_a_replacement_actor_that_cannot_load_the_model_fails_the_run_plainly(ray_cluster, engine, tiny_models,
                                                                              tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_models["letter_a"], folder)
    (run_id,) = new_runs(engine, folder, count=1, chunk_items=1)

    def lose_the_model_then_the_actor(done: int, total: int) -> None:
        (folder / "config.json").unlink(missing_ok=True)  # the node's model cache was wiped
        for name in live_actors_of(ray_cluster, run_id):
            ray_cluster.kill(ray_cluster.get_actor(name, namespace=RAY_NAMESPACE), no_restart=True)

    with pytest.raises(ModelLoadError, match=f"the model folder {folder} is missing or has no config.json"):
        execute_run_distributed(run_id, num_actors=1, engine=engine, chunks_in_flight=1,
                                on_progress=lose_the_model_then_the_actor)
    assert 0 < row_count(engine, run_id) < run_row(engine, run_id).progress_total
    assert live_actors_of(ray_cluster, run_id) == []


def test_cancel_stops_the_run_and_a_second_call_resumes_it(ray_cluster, engine, tiny_models):
    single, sharded = new_runs(engine, tiny_models["letter_a"], chunk_items=1)
    execute_run(single, engine=engine)
    progress: list[int] = []

    with pytest.raises(RunStopped) as stopped:
        execute_run_distributed(sharded, num_actors=2, engine=engine, chunks_in_flight=1,
                                on_progress=lambda d, t: progress.append(d),
                                should_stop=lambda: "cancelled" if progress else None)
    assert stopped.value.reason == "cancelled"
    kept = row_count(engine, sharded)
    total = run_row(engine, sharded).progress_total
    assert 0 < kept < total  # committed chunks stay; the rest was never written
    assert live_actors_of(ray_cluster, sharded) == []  # no actor keeps a model loaded

    execute_run_distributed(sharded, num_actors=1, engine=engine)  # resuming with fewer actors is fine too
    assert_same_results(results(engine, single), results(engine, sharded))
    assert run_row(engine, sharded).progress_done == total


def test_a_model_that_cannot_load_is_a_plain_model_load_error(ray_cluster, engine, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    (run_id,) = new_runs(engine, gone, count=1)
    before = run_row(engine, run_id)

    with pytest.raises(ModelLoadError, match=f"the model folder {gone} is missing or has no config.json"):
        execute_run_distributed(run_id, num_actors=1, engine=engine)
    after = run_row(engine, run_id)
    assert row_count(engine, run_id) == 0
    assert (after.progress_done, after.environment, after.status) == (0, before.environment, "pending")
    assert live_actors_of(ray_cluster, run_id) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"num_actors": 0}, "num_actors must be at least 1"),
    ({"num_actors": 3}, "3 CPU actors need 3 CPUs but the Ray cluster has 2"),
    ({"num_actors": 1, "gpus_per_actor": 1}, "need 1 GPUs but the Ray cluster has 0"),
    ({"num_actors": 1, "chunks_in_flight": 0}, "chunks_in_flight must be at least 1"),
])
def test_bad_arguments_are_refused_before_anything_starts(ray_cluster, engine, tiny_models, kwargs, message):
    (run_id,) = new_runs(engine, tiny_models["letter_a"], count=1, device="auto")
    with pytest.raises(ValueError, match=message):
        execute_run_distributed(run_id, engine=engine, **kwargs)
    assert row_count(engine, run_id) == 0 and run_row(engine, run_id).environment == {}
    assert live_actors_of(ray_cluster, run_id) == []


def test_a_cuda_run_on_a_cluster_without_gpus_is_refused(ray_cluster, engine, tiny_models):
    (run_id,) = new_runs(engine, tiny_models["letter_a"], count=1, device="cuda")
    with pytest.raises(ValueError, match="asks for device 'cuda' but the Ray cluster has no GPU"):
        execute_run_distributed(run_id, num_actors=1, engine=engine)
    assert row_count(engine, run_id) == 0


def test_an_unknown_run_is_refused(engine):
    with pytest.raises(ValueError, match="no run with id 999"):
        execute_run_distributed(999, num_actors=1, engine=engine)
