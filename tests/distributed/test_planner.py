"""The run planner: it counts the units and forward passes the evaluator really makes, and its time and memory
figures follow the model size, dtype, device, GPUs and prefix sharing as the formula says."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evaluator.engine.planner import (
    PROFILES,
    DeviceProfile,
    PlanError,
    calibrate_cpu,
    estimate_for_model,
    estimate_spec,
    guess_shape,
    max_params_fitting,
    plan_summary,
    shape_from_config,
)
from evaluator.engine.execution import execute_run
from evaluator.engine.spec import stored_specs
from evaluator.engine.runners import load_runner
from evaluator.benchmark.suites.bundled import ensure_demo_suite
from evaluator.tables import EvalRun, Suite
from evaluator.engine.tiny_models import model_info
from submissions.tables import ModelEntry, Submission
from tests.distributed.conftest import TASKS, estimate_run, new_runs

SEVEN_B = 7_620_000_000
CPU = DeviceProfile("test CPU", "cpu", peak_flops=50e9, memory_bandwidth=10e9, memory_bytes=16e9,
                    compute_efficiency=1.0, bandwidth_efficiency=1.0, pass_overhead_s=0.002, backend="transformers")


@pytest.fixture
def suite_id(engine) -> int:
    with Session(engine) as session:
        suite = ensure_demo_suite(session)
        session.commit()
        return suite.id


def test_units_and_items_are_the_runs_own(engine, tiny_models, suite_id):
    (run_id,) = new_runs(engine, tiny_models["letter_a"], count=1, limit_per_task=3)
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
    estimate = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=TASKS, limit_per_task=3)
    assert estimate.units == run.progress_total  # 5 orders on choice and cloze items, 2 on yes/no
    assert estimate.items == 3 * len(TASKS)


def test_forward_passes_match_what_the_transformers_runner_counts(engine, tiny_models, suite_id):
    folder = tiny_models["random"]
    (run_id,) = new_runs(engine, folder, count=1, limit_per_task=3, chunk_items=2)
    runner = load_runner(str(folder), dtype="float32", device="cpu")
    execute_run(run_id, engine=engine, runner=runner)
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        spec, execution = stored_specs(run)
        estimate = estimate_spec(session, spec, run.suite_id, int(model_info(folder)["params"]), device=CPU,
                                 model_path=folder, batch_policy=execution.batch_policy)
    assert estimate.counted_with == f"tokenizer of {folder}"
    assert estimate.letter_passes + estimate.generate_batches == runner.info.counters["forward_passes"]


def test_prefix_sharing_reads_an_items_stem_once(engine, suite_id):
    # letter scoring (logprob): one forward pass per (item, order), where the shared stem pays
    one = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam"], k=1, protocol="logprob")
    five = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam"], k=5, protocol="logprob")
    assert five.units == 5 * one.units
    assert five.prompt_tokens == pytest.approx(5 * one.prompt_tokens, rel=0.02)
    # the stem is computed once per item, only the options five times: a quarter or more of the tokens saved
    assert one.computed_tokens < five.computed_tokens < 0.75 * five.prompt_tokens


def test_memory_and_placement_follow_size_and_dtype(engine, suite_id):
    seven = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam"])
    assert seven.weights_gb == pytest.approx(15.24) and seven.tensor_parallel == 1 and seven.fits
    assert seven.weights_gb < seven.peak_memory_gb < 80
    fp32 = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam"], dtype="float32")
    assert fp32.weights_gb == pytest.approx(2 * seven.weights_gb)
    seventy = estimate_run(72_700_000_000, suite_id, engine=engine, tasks=["Med-Exam"], gpus=4)
    assert seventy.tensor_parallel == 4 and seventy.backend == "vllm" and seventy.replicas == 1
    assert "tensor parallel" in seventy.summary()
    alone = estimate_run(72_700_000_000, suite_id, engine=engine, tasks=["Med-Exam"])
    assert "needs 4 GPUs, 1 given" in alone.summary()
    fitting = max_params_fitting(80e9)  # bf16 on one H100: ~28B
    assert 25e9 < fitting < 30e9
    assert estimate_run(fitting, suite_id, engine=engine, tasks=["Med-Exam"]).tensor_parallel == 1
    assert estimate_run(fitting + 10**9, suite_id, engine=engine, tasks=["Med-Exam"]).tensor_parallel == 2
    assert max_params_fitting(80e9, gpus=4) > 72_700_000_000
    huge = estimate_run(2_000_000_000_000, suite_id, engine=engine, tasks=["Med-Exam"])
    assert not huge.fits and huge.summary().startswith("does not fit")


def test_time_follows_size_device_and_gpus(engine, suite_id):
    def time_of(**options):  # type: ignore[no-untyped-def]
        params = options.pop("params", SEVEN_B)
        return estimate_run(params, suite_id, engine=engine, tasks=["Med-Exam", "MedHC"], **options).time_s

    base = time_of()
    assert time_of(params=14_700_000_000) > base
    assert time_of(device="h200") < base < time_of(device="a100")  # more bandwidth / less compute
    assert time_of(gpus=2) == pytest.approx(base / 2)  # two replicas drain the run twice as fast
    assert time_of(decode_fill=0.5) < base


def test_sampling_a_large_suite_stands_for_every_item(engine, suite_id):
    full = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam", "MedSafety"], max_items_per_task=None)
    sampled = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam", "MedSafety"], max_items_per_task=7)
    assert sampled.units == full.units and sampled.items == full.items
    assert sampled.time_s == pytest.approx(full.time_s, rel=0.25)


def test_a_projection_keeps_the_task_mix_at_another_size(engine, suite_id):
    # 16-item chunks on both sides: the demo then spans several chunks, as the projection's virtual suite does
    demo = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam", "DrugCA"], chunk_items=16)
    big = estimate_run(SEVEN_B, suite_id, engine=engine, tasks=["Med-Exam", "DrugCA"], chunk_items=16,
                       target_items=10 * demo.items)
    assert big.items == 10 * demo.items and big.units == 10 * demo.units
    assert big.computed_tokens == pytest.approx(10 * demo.computed_tokens)
    with pytest.raises(PlanError, match="target_items must be at least 1"):
        estimate_run(SEVEN_B, suite_id, engine=engine, target_items=0)


def test_bigger_chunks_let_vllm_decode_more_sequences_at_once_within_memory(engine, suite_id):
    def estimate(chunk_items: int, params: int = SEVEN_B):  # type: ignore[no-untyped-def]
        return estimate_run(params, suite_id, engine=engine, tasks=["MedHC", "Med-Exam"], target_items=30_000,
                            chunk_items=chunk_items, protocol="logprob")

    small, large = estimate(16), estimate(256)
    assert large.computed_tokens == pytest.approx(small.computed_tokens, rel=0.02)
    assert large.time_s < small.time_s / 3  # decode steps shared by up to 256 sequences, not 16
    assert small.peak_memory_gb < large.peak_memory_gb < 0.9 * 80
    assert estimate(256, 32_800_000_000).peak_memory_gb < 0.9 * 80  # fewer sequences fit beside 32B weights


def test_the_summary_is_one_line_for_the_moderation_page(engine, suite_id):
    with Session(engine) as session:
        suite = ensure_demo_suite(session)
        model = ModelEntry(hub_id="Qwen/Qwen2.5-7B-Instruct", commit_sha="a" * 40, precision="bfloat16",
                           params=SEVEN_B)
        estimate = estimate_for_model(session, model, suite)
        line = estimate.summary()
        assert "\n" not in line and "H100" in line and "GB per GPU" in line and "bfloat16" in line
        assert estimate.items == suite.item_count
        model.params = None
        with pytest.raises(PlanError, match="has no known parameter count"):
            estimate_for_model(session, model, suite)


def test_the_moderation_page_gets_a_line_or_a_plain_reason(engine, suite_id):
    with Session(engine) as session:
        models = [ModelEntry(hub_id=f"org/m{i}", commit_sha=str(i) * 40, precision="bfloat16", params=params)
                  for i, params in enumerate((SEVEN_B, None))]
        session.add_all(models)
        session.flush()
        submissions = [Submission(model_id=m.id) for m in models]
        session.add_all(submissions)
        session.commit()
        known, unknown = (s.id for s in submissions)
    assert plan_summary(known, engine=engine).startswith("≈ ")
    assert "H100" in plan_summary(known, engine=engine) and "(suite demo" in plan_summary(known, engine=engine)
    assert plan_summary(unknown, engine=engine) == "no estimate: org/m1 has no known parameter count"
    assert plan_summary(999, engine=engine) == "no estimate: no submission #999"
    with Session(engine) as session:
        for suite in session.exec(select(Suite)):
            suite.active = False
            session.add(suite)
        session.commit()
    assert plan_summary(known, engine=engine) == "no estimate: no suite is active"


def test_shapes_come_from_config_or_the_nearest_reference(tiny_models):
    shape = shape_from_config(tiny_models["random"], 1000)
    assert (shape.layers, shape.hidden, shape.kv_heads, shape.head_dim) == (2, 64, 2, 16)
    assert guess_shape(SEVEN_B).layers == 28 and guess_shape(70_000_000_000).hidden == 8192
    with pytest.raises(PlanError, match="cannot read"):
        shape_from_config(tiny_models["random"] / "nowhere", 1000)


def test_a_calibrated_cpu_profile_measures_positive_figures(tiny_models):
    profile = calibrate_cpu(tiny_models["letter_a"], seconds=0.3)
    assert profile.kind == "cpu" and profile.backend == "transformers"
    assert profile.peak_flops > 1e8 and profile.memory_bandwidth > 1e8 and profile.pass_overhead_s > 0


@pytest.mark.parametrize("call, message", [
    (lambda e, s: estimate_run(0, s, engine=e), "parameter count must be positive"),
    (lambda e, s: estimate_run(SEVEN_B, s, engine=e, device="tpu"), "unknown device 'tpu'"),
    (lambda e, s: estimate_run(SEVEN_B, s, engine=e, gpus=0), "gpus must be at least 1"),
    (lambda e, s: estimate_run(SEVEN_B, s, engine=e, decode_fill=0), "decode_fill must be in"),
    (lambda e, s: estimate_run(SEVEN_B, s, engine=e, backend="tgi"), "unknown backend 'tgi'"),
])
def test_bad_requests_get_a_plain_plan_error(engine, suite_id, call, message):
    with pytest.raises(PlanError, match=message):
        call(engine, suite_id)


def test_profiles_hold_the_published_peaks():
    assert PROFILES["h100"].peak_flops == 989e12 and PROFILES["h100"].memory_bandwidth == 3.35e12


def test_a_gpu_count_does_not_divide_a_cpu_estimate(engine, suite_id):
    one = estimate_run(SEVEN_B // 100, suite_id, engine=engine, device=CPU, tasks=["Med-Exam"])
    four = estimate_run(SEVEN_B // 100, suite_id, engine=engine, device=CPU, tasks=["Med-Exam"], gpus=4)
    assert four.time_s == pytest.approx(one.time_s) and four.replicas == one.replicas == 1 and four.gpus == 1
