"""The time left in a run: measured per mode (letter scoring vs generation), so a run that starts with slow
generated answers does not extrapolate their rate to its fast letter-scored questions."""
from __future__ import annotations

import pytest

from evaluator.engine.progress import GENERATION_STEP_WEIGHT, RunProgress
from evaluator.engine.spec import RunSpec
from evaluator.engine.units import WorkUnit
from evaluator.benchmark.tasks import get_task
from tests.evaluator_core.helpers import ddx_items, single_items

MAX_NEW = 64


def units_of(items, first_id: int = 0) -> list[WorkUnit]:  # type: ignore[no-untyped-def]
    orders = 5
    return [WorkUnit(first_id + n, item, get_task(item.task), k, list(item.options)) for n, item in enumerate(items)
            for k in range(orders)]


@pytest.fixture
def spec() -> RunSpec:
    return RunSpec(model="m", revision="r", suite_name="s", suite_version="v", protocol="logprob",
                   generation={"max_new_tokens": {"DDx-basic": MAX_NEW}})


def test_generation_first_does_not_inflate_the_time_left_for_letter_questions(spec: RunSpec) -> None:
    generated = units_of(ddx_items([["A"], ["B"], ["C"], ["D"]]))  # 20 generations
    lettered = units_of(single_items("ABCDEABCDE"), first_id=100)  # 50 letter-scored questions
    progress = RunProgress(spec, generated + lettered, set())
    assert progress.seconds_left() is None  # nothing measured yet
    done: set[tuple[int, int]] = set()
    progress.record(generated, done, now=progress.last + 16.0)
    per_weight = 16.0 / (20 * MAX_NEW * GENERATION_STEP_WEIGHT)
    assert progress.seconds_left() == pytest.approx(50 * per_weight)  # 5 s; one rate over units said 40 s
    assert progress.detail == {"DDx-basic": [20, 20], "Med-Exam": [0, 50]}

    progress.record(lettered[:25], done, now=progress.last + 1.0)  # letters measured: their own rate now
    assert progress.seconds_left() == pytest.approx(25 * (1.0 / 25))
    progress.record(lettered[:25], done, now=progress.last + 1.0)  # a chunk committed twice counts once
    assert progress.done_count == 45 and progress.detail["Med-Exam"] == [25, 50]
    progress.record(lettered[25:], done, now=progress.last + 1.0)
    assert progress.seconds_left() == pytest.approx(0.0) and len(done) == 70


def test_a_resumed_run_counts_what_was_done_before(spec: RunSpec) -> None:
    units = units_of(single_items("ABCD"))
    already = {(u.suite_item_id, u.order_index) for u in units[:10]}
    progress = RunProgress(spec, units, already)
    assert progress.done_count == 10 and progress.detail == {"Med-Exam": [10, 20]}
    progress.record(units[10:15], set(already), now=progress.last + 2.0)
    assert progress.seconds_left() == pytest.approx(5 * 2.0 / 5)
