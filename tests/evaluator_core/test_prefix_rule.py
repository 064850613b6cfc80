"""Prefix sharing on a real tiny model: where it pays (long case items, options last) its letter scores equal
plain whole-prompt scoring; where it does not (short stems, long options) the runner scores plainly by itself."""
import random

import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import item_orders
from evaluator.benchmark.prompts import build_prompt
from evaluator.engine.runners import ChoiceRequest
from evaluator.engine.runners.batching import SHARING_PAYS_BELOW, letter_batches, padded_tokens
from evaluator.engine.runners.transformers_backend import TransformersRunner
from evaluator.benchmark.tasks import get_task

FINDINGS = ["发热三天，体温最高39.2℃", "咳嗽咳黄痰", "右下肺可闻及湿啰音", "白细胞计数升高", "既往体健，否认过敏史",
            "胸部X线片示右下肺斑片影", "血压130/80mmHg", "心率102次/分，律齐", "吸烟二十年", "近一周乏力纳差"]


def case_requests(n_items: int = 4, k: int = 5) -> list[ChoiceRequest]:
    """Med-Exam case items (a case of 300+ characters, a short question, options last), K orders each, through
    the evaluator's own prompt builder and order generator."""
    rng = random.Random(0)
    task = get_task("Med-Exam")
    requests = []
    for n in range(n_items):
        case = f"患者，男，{40 + n}岁。"
        while len(case) < 300:
            case += rng.choice(FINDINGS) + "。"
        item = Item(id=f"case-{n}", task="Med-Exam", passage=case, question="最可能的诊断是？",
                    options={"A": "社区获得性肺炎", "B": "肺结核", "C": "急性支气管炎", "D": "肺癌", "E": "肺栓塞"},
                    answer=["A"])
        for perm in item_orders(task.kind, item.options, [], k, 0, item.id):
            requests.append(ChoiceRequest(build_prompt(task, item, perm, None, False), list("ABCDE"),
                                          prefix_group=item.id))
    return requests


@pytest.fixture(scope="module")
def runners(tiny_models):
    path = str(tiny_models["random"])
    return TransformersRunner(path, device="cpu"), TransformersRunner(path, device="cpu", prefix_sharing=False)


def test_shared_and_plain_scoring_agree_on_long_case_items(runners):
    auto, plain = runners
    requests = case_requests()
    shared_scores = auto.letter_scores(requests)
    plain_scores = plain.letter_scores(requests)
    assert auto.info.counters["shared_prefix_calls"] == 1 and plain.info.counters["plain_calls"] == 1
    assert min(map(len, auto.encode([r.prompt for r in requests]))) > 250  # really long prompts
    for a, b in zip(shared_scores, plain_scores):
        assert a.keys() == b.keys() == set("ABCDE")
        assert max(abs(a[x] - b[x]) for x in a) < 1e-4
        assert max(a, key=a.get) == max(b, key=b.get)
    assert len({round(s["A"], 4) for s in shared_scores}) > 1  # scores depend on the prompt


def test_sharing_turns_itself_off_where_the_shared_prefix_is_too_short(runners):
    auto, _ = runners
    rng = random.Random(1)
    requests = []
    for n in range(2):  # the orders of an item share only the instruction and a 2-character stem
        options = ["".join(rng.sample(FINDINGS, 3)) for _ in range(5)]
        for _ in range(5):
            rng.shuffle(options)
            body = "\n".join(f"{x}. {o}" for x, o in zip("ABCDE", options))
            requests.append(ChoiceRequest(f"单选。病{n}？\n{body}\n答案：", list("ABCDE"), prefix_group=str(n)))
    before = dict(auto.info.counters)
    scores = auto.letter_scores(requests)
    counters = auto.info.counters
    assert counters["plain_calls"] == before["plain_calls"] + 1
    assert counters["shared_prefix_calls"] == before["shared_prefix_calls"]
    assert counters["forward_passes"] - before["forward_passes"] == 1  # one plain pass, no prefix pass
    assert all(s.keys() == set("ABCDE") for s in scores)
    auto.letter_scores(case_requests(2))  # the same runner still shares where it pays
    assert counters["shared_prefix_calls"] == before["shared_prefix_calls"] + 1


def test_the_rule_compares_padded_tokens_of_both_plans():
    stem = list(range(100, 190))  # 90 shared tokens, then 10 tokens of options per order
    long_shared = [stem + [i] * 10 for i in range(5)]
    batches, shared = letter_batches(long_shared, ["q"] * 5, 4096)
    assert shared and padded_tokens(batches) == 90 + 5 * 10  # the stem once, then each order's options
    short_shared = [stem[:5] + [i] * 95 for i in range(5)]  # 5% shared: two passes cannot pay
    batches, shared = letter_batches(short_shared, ["q"] * 5, 4096)
    assert not shared and padded_tokens(batches) == 5 * 100
    # the boundary: shared plan at most SHARING_PAYS_BELOW of the plain plan's tokens
    n_shared = next(p for p in range(100) if (p + 5 * (100 - p)) <= SHARING_PAYS_BELOW * 500)
    at = [list(range(100, 100 + n_shared)) + [i] * (100 - n_shared) for i in range(5)]
    below = [list(range(100, 99 + n_shared)) + [i] * (101 - n_shared) for i in range(5)]
    assert letter_batches(at, ["q"] * 5, 4096)[1] and not letter_batches(below, ["q"] * 5, 4096)[1]
    assert not letter_batches(long_shared, ["q"] * 5, 4096, sharing=False)[1]  # sharing not allowed: plain
