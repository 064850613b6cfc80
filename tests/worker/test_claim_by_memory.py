"""Workers with different GPUs share one queue: each claims only runs whose weights fit its memory."""
from __future__ import annotations

from evaluator.ops.leases import claim_next_run
from tests.worker.factories import add_model, add_pending_run, add_suite, demo_items


def test_claims_skip_models_too_big_for_the_device(any_engine) -> None:
    suite = add_suite(any_engine, demo_items("Med-Exam", 1))
    big, _ = add_pending_run(any_engine, suite, add_model(any_engine, "org/70b", params=70_000_000_000))
    small, _ = add_pending_run(any_engine, suite, add_model(any_engine, "org/7b", params=7_000_000_000))
    unknown, _ = add_pending_run(any_engine, suite, add_model(any_engine, "org/unknown", params=None))

    budget = 30 * 10**9  # float32 weights (the factory's precision): 7B (28 GB) fits, 70B (280 GB) does not
    claimed = set()
    while (claim := claim_next_run(any_engine, "small-gpu", lease_seconds=60, max_weight_bytes=budget)):
        claimed.add(claim.run_id)
    assert claimed == {small, unknown}
    big_claim = claim_next_run(any_engine, "big-node", lease_seconds=60, max_weight_bytes=None)
    assert big_claim is not None and big_claim.run_id == big

