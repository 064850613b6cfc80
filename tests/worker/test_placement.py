"""Placement on a worker's GPUs: a model too big for one GPU is split over several with vLLM (tensor parallelism),
the execution spec says so (and where the run went) while the run spec is left as it was, and a worker that cannot
split it neither claims it nor runs it."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from evaluator.ops.leases import claim_next_run
from evaluator.engine.placement import Accelerators, PlacementError, detect_accelerators, place
from evaluator.engine.planner import Estimate
from tests.distributed.conftest import estimate_run
from evaluator.engine.spec import ExecutionSpec, RunSpec, stored_specs
from evaluator.tables import EvalRun
from evaluator.ops.worker import Worker
from submissions.tables import ModelEntry
from tests.worker.factories import add_model, add_pending_run, add_suite, demo_items, run_row, worker_settings

H100 = 80e9
NODE = Accelerators(count=8, memory_bytes=H100, vllm=True)


def spec(**changes) -> RunSpec:  # type: ignore[no-untyped-def]
    return RunSpec(model="org/m", revision="0" * 40, suite_name="s", suite_version="v", **changes)


def place_here(run_spec: RunSpec, params: int | None, gpus: Accelerators | None,
               execution: ExecutionSpec | None = None) -> ExecutionSpec:
    return place(run_spec, execution or ExecutionSpec(), params, gpus, worker="host:1:cuda", device="cuda")


def pending_run_of(engine, suite: int, model_id: int) -> int:  # type: ignore[no-untyped-def]
    """A pending run with real (default) specs, as create_run stores them."""
    run_id, _ = add_pending_run(engine, suite, model_id)
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        run.run_spec, run.execution_spec = spec().model_dump(mode="json"), ExecutionSpec().model_dump(mode="json")
        session.add(run)
        session.commit()
    return run_id


@pytest.mark.parametrize(("params", "dtype", "parts"), [
    (7_000_000_000, "auto", 1),          # 14 GB: one GPU
    (34_000_000_000, "bfloat16", 2),     # 68 GB: over the 57.6 GB a GPU gives weights
    (70_000_000_000, "auto", 4),         # 140 GB
    (70_000_000_000, "float32", 8),      # 280 GB
])
def test_weights_are_split_over_the_fewest_gpus_that_hold_them(params: int, dtype: str, parts: int) -> None:
    placed = place_here(spec(dtype=dtype), params, NODE)
    assert placed.tensor_parallel == parts
    assert (placed.placement.worker, placed.placement.device, placed.placement.gpus) == ("host:1:cuda", "cuda", 8)
    note = placed.placement.note
    if parts == 1:
        assert note is None and placed.model_copy(update={"placement": None}) == ExecutionSpec()
    else:
        assert placed.backend == "vllm" and f"over {parts} GPUs" in note and "80 GB" in note


def test_the_worker_and_the_planner_agree_on_placement(engine) -> None:
    suite = add_suite(engine, demo_items("Med-Exam", 2))
    for params in (7_000_000_000, 34_000_000_000, 70_000_000_000):
        estimate: Estimate = estimate_run(params, suite, engine=engine, device="h100", gpus=8)
        assert place_here(spec(), params, NODE).tensor_parallel == estimate.tensor_parallel


@pytest.mark.parametrize(("gpus", "why"), [
    (Accelerators(count=8, memory_bytes=H100, vllm=False), "vLLM is not installed"),
    (Accelerators(count=2, memory_bytes=H100, vllm=True), "this worker has 2"),
])
def test_a_worker_that_cannot_split_the_model_says_why(gpus: Accelerators, why: str) -> None:
    with pytest.raises(PlacementError, match=why):
        place_here(spec(), 70_000_000_000, gpus)


def test_no_node_holds_the_model_or_the_backend_cannot_split_it() -> None:
    with pytest.raises(PlacementError, match="more than one 8-GPU node"):
        place_here(spec(), 405_000_000_000, NODE)
    with pytest.raises(PlacementError, match="transformers backend"):
        place_here(spec(), 70_000_000_000, NODE, ExecutionSpec(backend="transformers"))


def test_cpu_or_unknown_size_is_left_alone() -> None:
    on_cpu = place(spec(), ExecutionSpec(), 70_000_000_000, None, worker="host:1:cpu", device="cpu")
    assert on_cpu.tensor_parallel == 1 and on_cpu.placement.model_dump() == {
        "worker": "host:1:cpu", "device": "cpu", "gpus": 0, "gpu_memory_gb": None, "gpu_ids": None, "note": None}
    assert place_here(spec(), None, NODE).tensor_parallel == 1
    assert detect_accelerators("cpu") is None


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 8, 16])
def test_the_claim_budget_is_exactly_what_placement_accepts(count: int) -> None:
    """What a worker claims (its weight budget) must be placeable, and a little more must not be."""
    gpus = Accelerators(count=count, memory_bytes=H100, vllm=True)
    assert gpus.max_tensor_parallel == {1: 1, 2: 2, 3: 2, 4: 4, 6: 4, 8: 8, 16: 8}[count]
    largest = gpus.weight_budget() // 2  # parameters in bf16
    assert place_here(spec(), largest, gpus).tensor_parallel <= gpus.max_tensor_parallel
    with pytest.raises(PlacementError):
        place_here(spec(), int(largest * 1.01), gpus)
    assert Accelerators(count=count, memory_bytes=H100, vllm=False).max_tensor_parallel == 1


def test_worker_stores_the_placement_and_refuses_what_it_cannot_hold(any_engine) -> None:
    suite = add_suite(any_engine, demo_items("Med-Exam", 1))
    model_id = add_model(any_engine, "org/70b", params=70_000_000_000)  # the spec says auto: bf16 on GPU, 140 GB
    run_id = pending_run_of(any_engine, suite, model_id)
    single = Worker(any_engine, worker_settings(), device="cuda", owner="one-gpu",
                    accelerators=Accelerators(count=1, memory_bytes=H100, vllm=False))
    assert claim_next_run(any_engine, single.owner, lease_seconds=60, max_weight_bytes=single.max_weight_bytes) is None

    node = Worker(any_engine, worker_settings(), device="cuda", owner="node", accelerators=NODE)
    claim = claim_next_run(any_engine, node.owner, lease_seconds=60, max_weight_bytes=node.max_weight_bytes)
    assert claim is not None and claim.run_id == run_id
    with Session(any_engine) as session:
        model = session.get(ModelEntry, model_id)
    node.place_run(run_id, model)
    run = run_row(any_engine, run_id)
    assert run.run_spec == spec().model_dump(mode="json")  # what fixes the numbers is not rewritten
    execution = ExecutionSpec.model_validate(run.execution_spec)
    assert (execution.tensor_parallel, execution.backend) == (4, "vllm")
    assert (execution.placement.worker, execution.placement.gpus, execution.placement.gpu_memory_gb) == (
        "node", 8, 80.0)
    assert "placed over 4 GPUs with tensor parallelism (vLLM)" in run.log


def test_a_run_stored_before_the_split_loads_and_is_placed_in_its_execution_spec(any_engine) -> None:
    """A row whose run_spec still holds the execution keys (stored before ``execution_spec`` existed) loads
    split, and placing it writes the execution part only."""
    suite = add_suite(any_engine, demo_items("Med-Exam", 1))
    run_id = pending_run_of(any_engine, suite, add_model(any_engine, "org/70b", params=70_000_000_000))
    legacy = {**spec().model_dump(mode="json"), "backend": "auto", "device": "cuda", "tensor_parallel": 2,
              "batch_policy": {"token_budget": 4096, "sort": "longest_first", "prefix_sharing": True,
                               "chunk_items": 8}}
    with Session(any_engine) as session:
        run = session.get(EvalRun, run_id)
        run.run_spec, run.execution_spec = legacy, {}
        session.add(run)
        session.commit()
        run_spec, execution = stored_specs(session.get(EvalRun, run_id))
    assert run_spec == spec()
    assert (execution.device, execution.tensor_parallel, execution.batch_policy.chunk_items) == ("cuda", 2, 8)
    node = Worker(any_engine, worker_settings(), device="cuda", owner="node", accelerators=NODE)
    with Session(any_engine) as session:
        model = session.get(ModelEntry, run_row(any_engine, run_id).model_id)
    node.place_run(run_id, model)
    run = run_row(any_engine, run_id)
    assert run.run_spec == legacy  # left as stored; read split
    assert run.execution_spec["tensor_parallel"] == 4 and run.execution_spec["batch_policy"]["chunk_items"] == 8
    run_spec, execution = stored_specs(run)
    assert run_spec == spec() and execution.tensor_parallel == 4 and execution.placement.worker == "node"


def test_a_run_that_cannot_be_placed_fails_with_its_reason(any_engine) -> None:
    suite = add_suite(any_engine, demo_items("Med-Exam", 1))
    run_id = pending_run_of(any_engine, suite, add_model(any_engine, "org/70b", params=70_000_000_000))
    # the lease filter would keep this run away; a worker that claims it anyway (e.g. its budget was set by
    # hand) must still fail it plainly before loading anything
    worker = Worker(any_engine, worker_settings(), device="cuda", owner="small",
                    accelerators=Accelerators(count=2, memory_bytes=H100, vllm=True))
    claim = claim_next_run(any_engine, worker.owner, lease_seconds=60, max_weight_bytes=None)
    assert worker.process(claim) == "failed"
    run = run_row(any_engine, run_id)
    assert run.status == "failed" and "tensor parallelism over 4 GPUs" in run.error_public
    assert "this worker has 2" in run.error_public and run.execution_spec["tensor_parallel"] == 1
