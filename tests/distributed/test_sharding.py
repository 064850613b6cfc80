"""Sharding by token count: whole items only (their orders share a prefix), balanced, deterministic."""
from __future__ import annotations

from collections import defaultdict

import pytest

from evaluator.engine.distributed import shard_cost, shard_units
from evaluator.benchmark.items import Item
from evaluator.engine.spec import RunSpec, _default_generation
from evaluator.engine.units import plan_units
from evaluator.tables import SuiteItem

OPTIONS = {"A": "肺炎", "B": "高血压", "C": "糖尿病", "D": "心肌梗死", "E": "头痛"}


def spec(**fields) -> RunSpec:  # type: ignore[no-untyped-def]
    return RunSpec(**{"model": "m", "revision": "r", "suite_name": "s", "suite_version": "v",
                      "generation": _default_generation(), **fields})


def items() -> list[tuple[SuiteItem, Item]]:
    """Items of very different lengths and kinds: long and short stems, yes/no, open-ended."""
    made = []
    for i in range(12):
        stem = "患者发热咳嗽" * (1 + 7 * (i % 4)) + "最可能的诊断是？"
        made.append(Item(id=f"exam-{i}", task="Med-Exam", question=stem, options=OPTIONS, answer=["A"]))
    for i in range(6):
        made.append(Item(id=f"drug-{i}", task="DrugCA", question=f"药物{i}与华法林合用是否禁忌？",
                         options={"A": "是", "B": "否"}, answer=["A"]))
    for i in range(4):
        made.append(Item(id=f"hc-{i}", task="MedHC", question=f"高血压患者{i}应如何调整饮食？",
                         answer="低盐饮食", answer_points=[["低盐"]]))
    return [(SuiteItem(id=100 + n, suite_id=1, task=item.task, item_key=item.id, data=item.model_dump()), item)
            for n, item in enumerate(made)]


def test_every_unit_lands_on_exactly_one_shard_with_its_items_other_orders():
    run_spec = spec()
    units = plan_units(items(), run_spec)
    shards = shard_units(units, run_spec, 3)
    placed = [(u.suite_item_id, u.order_index) for s in shards for u in s.units]
    assert sorted(placed) == sorted((u.suite_item_id, u.order_index) for u in units)
    home: dict[int, set[int]] = defaultdict(set)
    for shard in shards:
        for unit in shard.units:
            home[unit.suite_item_id].add(shard.index)
    assert all(len(where) == 1 for where in home.values())
    for shard in shards:  # suite order inside a shard
        positions = [units.index(u) for u in shard.units]
        assert positions == sorted(positions)


def test_shards_are_balanced_by_tokens_not_by_item_count():
    run_spec = spec()
    units = plan_units(items(), run_spec)
    item_costs = {}
    for unit in units:
        item_costs.setdefault(unit.suite_item_id, []).append(unit)
    costs = {i: shard_cost(us, run_spec) for i, us in item_costs.items()}
    shards = shard_units(units, run_spec, 2)
    loads = [s.cost for s in shards]
    assert sum(loads) == sum(costs.values())
    assert max(loads) - min(loads) <= max(costs.values())  # greedy LPT bound


def test_a_long_open_ended_item_outweighs_several_short_choice_items():
    run_spec = spec(protocol="logprob", generation=_default_generation("logprob"))  # letter-scored yes/no items
    chosen = [pair for pair in items() if pair[1].task in ("DrugCA", "MedHC")][:7]  # 6 yes/no, 1 open-ended
    shards = shard_units(plan_units(chosen, run_spec), run_spec, 2)
    counts = sorted(s.item_count for s in shards)
    assert counts[0] < counts[1] - 1  # balanced on tokens, so the item counts are not
    heavy = next(s for s in shards if any(u.task.name == "MedHC" for u in s.units))
    assert heavy.item_count == counts[0]


def test_generated_kinds_cost_their_generation_budget():
    run_spec = spec()
    hc = [u for u in plan_units(items(), run_spec) if u.task.name == "MedHC"][:1]
    assert shard_cost(hc, run_spec) > hc[0].task.max_new_tokens
    smaller = spec(generation={**_default_generation(), "max_new_tokens": {"MedHC": 1}})
    assert shard_cost(hc, run_spec) - shard_cost(hc, smaller) == hc[0].task.max_new_tokens - 1


def test_the_split_is_deterministic_and_tolerates_more_shards_than_items():
    run_spec = spec(k=1)
    units = plan_units(items()[:2], run_spec)
    first = [[(u.suite_item_id, u.order_index) for u in s.units] for s in shard_units(units, run_spec, 4)]
    again = [[(u.suite_item_id, u.order_index) for u in s.units] for s in shard_units(units, run_spec, 4)]
    assert first == again
    assert sum(1 for s in first if s) == 2


def test_zero_shards_is_refused():
    with pytest.raises(ValueError, match="num_shards must be at least 1"):
        shard_units([], spec(), 0)
