"""Prefix sharing in generation on a real tiny model: where it pays (long case items, K orders, options last) the
stem is prefilled once per item and the greedy answers are token for token those of plain left-padded generation
(fp32); where it does not pay (short stems) the runner generates plainly by itself."""
import random
from functools import partial

import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import item_orders
from evaluator.benchmark.prompts import build_prompt
from evaluator.benchmark.scoring.extract import answer_settled
from evaluator.benchmark.tasks import get_task
from evaluator.engine.runners import GenerationRequest
from evaluator.engine.runners.batching import SHARING_PAYS_BELOW, generation_batches, padded_tokens
from evaluator.engine.runners.transformers_backend import TransformersRunner

FINDINGS = ["发热三天，体温最高39.2℃", "咳嗽咳黄痰", "右下肺可闻及湿啰音", "白细胞计数升高", "既往体健，否认过敏史",
            "胸部X线片示右下肺斑片影", "血压130/80mmHg", "心率102次/分，律齐", "吸烟二十年", "近一周乏力纳差"]
OPTIONS = {"A": "社区获得性肺炎", "B": "肺结核", "C": "急性支气管炎", "D": "肺癌", "E": "肺栓塞"}


def case_requests(tokenizer, n_items: int = 4, k: int = 5, max_new: int = 24, settle: bool = False,
                  stop: list[str] | None = None) -> list[GenerationRequest]:
    """Med-Exam case items of different lengths (a case of 300+ characters, a short question, options last), K
    orders each, as the generate protocol asks them (the model's chat template)."""
    rng = random.Random(0)
    task = get_task("Med-Exam")
    requests = []
    for n in range(n_items):
        case = f"患者，男，{40 + n}岁。"
        while len(case) < 300 + 60 * n:
            case += rng.choice(FINDINGS) + "。"
        item = Item(id=f"case-{n}", task="Med-Exam", passage=case, question="最可能的诊断是？", options=OPTIONS,
                    answer=["A"])
        for perm in item_orders(task.kind, item.options, [], k, 0, item.id):
            settled = partial(answer_settled, kind=task.kind, letters=list("ABCDE"),
                              options=[OPTIONS[x] for x in perm]) if settle else None
            requests.append(GenerationRequest(build_prompt(task, item, perm, tokenizer, True, protocol="generate"),
                                              max_new, stop, prefix_group=item.id, settled=settled))
    return requests


@pytest.fixture(scope="module")
def runners(tiny_models, tmp_path_factory):
    """The tiny random model with its matrices scaled up: at the usual initial scale its answers hardly depend on
    the prompt, so a wrong position or a wrong cache row would go unseen."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tmp_path_factory.mktemp("sensitive")
    model = AutoModelForCausalLM.from_pretrained(tiny_models["random"])
    with torch.no_grad():
        for weight in model.parameters():
            if weight.ndim == 2:
                weight.mul_(8.0)
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_models["random"]).save_pretrained(path)
    return TransformersRunner(str(path), device="cpu"), TransformersRunner(str(path), device="cpu",
                                                                            prefix_sharing=False)


@pytest.mark.parametrize("budget", [4096, 1200])  # one batch of every item; several batches of mixed prefixes
def test_shared_stem_generation_is_token_identical_to_plain_generation(runners, budget):
    auto, plain = runners
    auto.token_budget = plain.token_budget = budget
    requests = case_requests(auto.tokenizer)
    before = dict(auto.info.counters)
    shared_out = auto.generate_requests(requests)
    plain_out = plain.generate_requests(requests)
    assert auto.info.counters["shared_generation_calls"] == before["shared_generation_calls"] + 1
    assert plain.info.counters["shared_generation_calls"] == 0
    assert min(map(len, auto.encode([r.prompt for r in requests]))) > 250  # really long prompts
    assert [(g.text, g.tokens, g.finish_reason) for g in shared_out] == \
           [(g.text, g.tokens, g.finish_reason) for g in plain_out]
    assert len({g.text for g in shared_out}) > len(requests) // 2  # answers depend on the prompt


def test_stop_strings_and_settled_answers_end_shared_rows_as_plain_ones(runners):
    auto, plain = runners
    auto.token_budget = plain.token_budget = 4096
    tokenizer = auto.tokenizer
    probe = plain.generate_requests(case_requests(tokenizer, n_items=2, max_new=32))
    stop = next(c for g in probe for c in g.text[4:] if "\u4e00" <= c <= "\u9fff")  # a character it writes
    requests = case_requests(tokenizer, n_items=2, max_new=32, settle=True, stop=[stop])
    shared_out, plain_out = auto.generate_requests(requests), plain.generate_requests(requests)
    assert [(g.text, g.tokens, g.finish_reason) for g in shared_out] == \
           [(g.text, g.tokens, g.finish_reason) for g in plain_out]
    assert any(g.tokens < 32 and g.finish_reason == "stop" for g in shared_out)  # the stop string did stop rows


def test_generation_shares_only_where_it_pays(runners):
    auto, _ = runners
    rng = random.Random(1)
    requests = []
    for n in range(2):  # the orders of an item share only the chat template's head and a 2-character stem
        options = ["".join(rng.sample(FINDINGS, 3)) for _ in range(5)]
        for _ in range(5):
            rng.shuffle(options)
            body = "\n".join(f"{x}. {o}" for x, o in zip("ABCDE", options))
            requests.append(GenerationRequest(f"单选。病{n}？\n{body}\n", 8, prefix_group=str(n)))
    before = dict(auto.info.counters)
    out = auto.generate_requests(requests)
    counters = auto.info.counters
    assert counters["plain_generation_calls"] == before["plain_generation_calls"] + 1
    assert counters["shared_generation_calls"] == before["shared_generation_calls"]
    assert len(out) == len(requests)


def test_the_generation_rule_compares_prefill_tokens_and_budgets_new_tokens():
    stem = list(range(100, 190))  # 90 shared tokens, then 10 tokens of options per order
    long_shared = [stem + [i] * 10 for i in range(5)]
    batches, shared = generation_batches(long_shared, ["q"] * 5, 4096, 50)
    assert shared and padded_tokens(batches) == 90 + 5 * 10
    short_shared = [stem[:5] + [i] * 95 for i in range(5)]  # 5% shared: the prefill pass cannot pay
    assert not generation_batches(short_shared, ["q"] * 5, 4096, 50)[1]
    n_shared = next(p for p in range(100) if (p + 5 * (100 - p)) <= SHARING_PAYS_BELOW * 500)
    at = [list(range(100, 100 + n_shared)) + [i] * (100 - n_shared) for i in range(5)]
    below = [list(range(100, 99 + n_shared)) + [i] * (101 - n_shared) for i in range(5)]
    assert generation_batches(at, ["q"] * 5, 4096, 50)[1] and not generation_batches(below, ["q"] * 5, 4096, 50)[1]
    assert not generation_batches(long_shared, ["q"] * 5, 4096, 50, sharing=False)[1]
    # the budget holds the new tokens too: two items of 5 rows x (10 + 200) tokens do not fit one batch of 2048
    two_items = long_shared + [[7] + t[1:] for t in long_shared]
    assert len(generation_batches(two_items, ["q"] * 5 + ["r"] * 5, 2048, 200)[0]) == 2
    assert len(generation_batches(two_items, ["q"] * 5 + ["r"] * 5, 4096, 200)[0]) == 1
