"""The transformers runner on real tiny models: shared-prefix, batched and one-by-one scoring agree with a plain
full forward pass; letters that are not one token are scored as continuations; failures are plain."""
import json
import random

import pytest
import torch

from evaluator.engine.runners import ChoiceRequest, ModelLoadError, RequestError, load_runner
from evaluator.engine.runners.batching import group_by_prefix
from evaluator.engine.runners.transformers_backend import TransformersRunner


@pytest.fixture(scope="module")
def runner(tiny_models):
    return load_runner(str(tiny_models["random"]), backend="auto", device="cpu")


def mixed_requests(n_items: int = 7, orders: int = 5, seed: int = 0) -> list[ChoiceRequest]:
    rng = random.Random(seed)
    requests = []
    for _ in range(n_items):
        symptoms = rng.sample(["发热", "咳嗽", "胸痛", "头痛", "腹泻", "乏力", "心悸", "水肿"], 3)
        stem = "请回答以下单选题。" + "，".join(symptoms) + "。病程" * rng.randint(1, 12) + "诊断是？"
        for _ in range(orders):
            options = ["高血压", "糖尿病", "肺炎", "心肌梗死" * rng.randint(1, 3), "头痛"]
            rng.shuffle(options)
            body = "\n".join(f"{letter}. {text}" for letter, text in zip("ABCDE", options))
            requests.append(ChoiceRequest(f"{stem}\n{body}\n答案：", list("ABCDE")))
    return requests


def reference_scores(runner, request: ChoiceRequest) -> dict[str, float]:
    """Full-vocabulary log-probs of the next token from one unpadded forward pass over the whole prompt."""
    ids = torch.tensor([runner.encode([request.prompt])[0]])
    with torch.no_grad():
        logprobs = torch.log_softmax(runner.model(ids).logits[0, -1].float(), -1)
    return {x: float(logprobs[runner.tokenizer(x, add_special_tokens=False)["input_ids"][0]]) for x in request.letters}


def assert_close(a: list[dict[str, float]], b: list[dict[str, float]], tol: float = 1e-4) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        assert max(abs(x[k] - y[k]) for k in x) < tol


def test_prefix_shared_batched_and_one_by_one_agree(runner, tiny_models):
    requests = mixed_requests()
    assert len({len(runner.encode([r.prompt])[0]) for r in requests}) > 5  # really mixed lengths
    groups = group_by_prefix(runner.encode([r.prompt for r in requests]))
    assert len(groups) == 7 and all(len(members) == 5 and p > 10 for p, members in groups)  # prefixes are shared
    batched = runner.letter_scores(requests)
    one_by_one = [runner.letter_scores([r])[0] for r in requests]
    small_batches = TransformersRunner(str(tiny_models["random"]), device="cpu", token_budget=64).letter_scores(requests)
    unshared = TransformersRunner(str(tiny_models["random"]), device="cpu", prefix_sharing=False)
    whole_prompts = unshared.letter_scores(requests)  # one left-padded pass per batch, no shared cache
    reference = [reference_scores(runner, r) for r in requests]
    assert_close(batched, reference)
    assert_close(one_by_one, reference)
    assert_close(small_batches, reference)
    assert_close(whole_prompts, reference)
    assert unshared.info.counters["forward_passes"] < len(requests)  # batched, not one by one
    assert max(abs(s["A"] - batched[0]["A"]) for s in batched) > 1e-3  # scores depend on the prompt


def test_letter_model_always_answers_a(tiny_models):
    letter_runner = load_runner(str(tiny_models["letter_a"]), device="cpu")
    scores = letter_runner.letter_scores(mixed_requests(3, 2))
    assert all(max(s, key=s.get) == "A" for s in scores)
    assert all(s["A"] > s[x] + 10 for s in scores for x in "BCDE")


def test_letter_that_is_not_one_token_is_scored_as_a_continuation(runner):
    word = "心肌梗死高血压"
    word_ids = runner.tokenizer(word, add_special_tokens=False)["input_ids"]
    assert len(word_ids) > 1
    request = ChoiceRequest("请回答以下单选题。患者胸痛。\nA. 甲\nB. 乙\n答案：", ["A", word])
    got = runner.letter_scores([request, request])
    ctx = runner.encode([request.prompt])[0]
    with torch.no_grad():
        logprobs = torch.log_softmax(runner.model(torch.tensor([ctx + word_ids])).logits[0].float(), -1)
    expected = sum(float(logprobs[len(ctx) - 1 + j, t]) for j, t in enumerate(word_ids))
    assert got[0][word] == pytest.approx(expected, abs=1e-4) and got[1] == got[0]
    assert runner.info.counters["multi_token_letters"] >= 2


def test_generation_batched_equals_one_by_one_and_stops(runner):
    prompts = [r.prompt for r in mixed_requests(3, 2, seed=1)]
    batched = runner.generate(prompts, 12)
    single = [runner.generate([p], 12)[0] for p in prompts]
    assert batched == single and any(batched)
    stop = batched[0][2:4]
    cut = runner.generate(prompts[:1], 12, stop=[stop])[0]
    assert stop not in cut and batched[0].startswith(cut)


def test_too_long_prompt_is_a_request_error(runner):
    long = ChoiceRequest("患者" * 5000 + "\n答案：", ["A", "B"])
    with pytest.raises(RequestError) as info:
        runner.letter_scores([ChoiceRequest("短\n答案：", ["A", "B"]), long])
    assert info.value.index == 1 and "context" in info.value.reason


def test_load_failures_are_plain(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_runner(str(tmp_path / "missing"), device="cpu")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_runner(str(broken), device="cpu")
    with pytest.raises(ModelLoadError, match="unknown dtype"):
        load_runner(str(broken), dtype="int3")
    with pytest.raises(ModelLoadError, match="unknown backend"):
        load_runner(str(broken), backend="onnx")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA GPU"):
            load_runner(str(broken), device="cuda")


def test_prefix_groups_follow_item_keys_when_given():
    shared = list(range(100, 140))
    tokens = [shared + [1, 2, 3], shared + [4, 5], shared[:30] + [9, 9, 9, 9], shared[:30] + [7]]
    assert group_by_prefix(tokens, ["q1", "q1", "q2", "q2"]) == [(40, [0, 1]), (30, [2, 3])]
    # without keys the item boundary is found from the tokens: q2 shares only 30 of q1's 40 prefix tokens
    assert group_by_prefix(tokens) == [(40, [0, 1]), (30, [2, 3])]
    # a request sharing only a short header never joins
    assert group_by_prefix([shared + [1], shared[:5] + [2]]) == [(40, [0]), (5, [1])]


def test_requests_with_item_keys_score_like_one_by_one(runner):
    requests = mixed_requests(4, 5, seed=3)
    keyed = [ChoiceRequest(r.prompt, r.letters, prefix_group=str(i // 5)) for i, r in enumerate(requests)]
    assert_close(runner.letter_scores(keyed), [reference_scores(runner, r) for r in requests])


@pytest.mark.parametrize("arch", ["gpt2", "qwen2", "gemma2", "phi3"])
def test_other_architectures_share_prefixes_exactly(arch, tmp_path, tiny_models):
    """Real (random) models of other families, including gemma2's sliding-window cache and gpt2's learned
    positions: shared-prefix scores equal a plain full forward pass."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["random"])
    config = AutoConfig.for_model(arch, vocab_size=len(tokenizer), hidden_size=64, n_embd=64, num_hidden_layers=2,
                                  n_layer=2, num_attention_heads=4, n_head=4, num_key_value_heads=2,
                                  intermediate_size=128, head_dim=16, max_position_embeddings=512, n_positions=512,
                                  pad_token_id=tokenizer.pad_token_id, bos_token_id=None, eos_token_id=None)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / arch)
    tokenizer.save_pretrained(tmp_path / arch)
    arch_runner = TransformersRunner(str(tmp_path / arch), device="cpu")
    requests = [ChoiceRequest(f"请回答以下单选题。患者发热。{'病程' * k}\nA. 甲{k}\nB. 乙\n答案：", ["A", "B"],
                              prefix_group=str(k // 2)) for k in range(6)]
    assert_close(arch_runner.letter_scores(requests), [reference_scores(arch_runner, r) for r in requests])
    assert arch_runner.prefix_sharing and arch_runner.decoder is not arch_runner.model  # prefix pass: no head
    assert arch_runner.info.counters["shared_prefix_calls"] == 1  # the shared path really ran


def test_out_of_memory_halves_the_batch_and_retries(tiny_models):
    """A real allocation failure (the process is limited to ~300 MB more address space than it holds): the
    runner halves the batch until it fits, and the scores equal those of small batches."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "tests.evaluator_core.oom_probe", str(tiny_models["random"]), "300"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["oom_splits"] >= 1 and result["token_budget"] < 10**7
    assert result["rows"] == 400 and result["max_diff"] < 1e-4


def test_weights_that_do_not_match_the_config_say_so(tmp_path, tiny_models):
    import json
    import shutil

    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_models["random"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["intermediate_size"] += 7
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="the weights do not match config.json"):
        load_runner(str(folder), device="cpu")


def test_tensor_parallelism_is_refused_without_vllm(tiny_models):
    with pytest.raises(ModelLoadError, match="tensor parallelism needs the vLLM backend"):
        load_runner(str(tiny_models["random"]), device="cpu", backend="transformers", tensor_parallel_size=2)
    with pytest.raises(ModelLoadError, match="at least 1"):
        load_runner(str(tiny_models["random"]), device="cpu", tensor_parallel_size=0)


def test_letter_plan_by_prompt_tails_equals_encoding_every_prompt_whole(runner):
    """letter_plan checks each distinct prompt tail once; that must give exactly what encoding every prompt plus
    every letter whole gives, also for prompts shorter than a tail and endings where a letter merges."""
    from evaluator.engine.runners.base import encode_prompts, letter_plan

    tok = runner.tokenizer
    requests = [*mixed_requests(4, 3), ChoiceRequest("短题\n答案：", list("AB")),
                *(ChoiceRequest(f"{stem}\nA. 甲\nB. 乙\n{end}", ["A", "B", "是", "心肌梗死高血压"])
                  for stem in ["请回答以下单选题。患者胸痛三天。" * 3, "病程" * 40]
                  for end in ["答案：", "Answer: ", "Vitamin", "选项", "The answer is "])]
    contexts = encode_prompts(tok, [r.prompt for r in requests])
    got = letter_plan(tok, requests, contexts)
    for request, ctx, plan in zip(requests, contexts, got):
        whole = encode_prompts(tok, [request.prompt + x for x in request.letters])
        for letter, tokens in zip(request.letters, whole):
            one = len(tokens) == len(ctx) + 1 and tokens[: len(ctx)] == ctx
            assert plan[letter] == (tokens[-1:] if one else tok(letter, add_special_tokens=False)["input_ids"])
    kinds = {len(tokens) for plan in got for tokens in plan.values()}
    assert 1 in kinds and max(kinds) > 1  # both paths taken: next-token letters and continuations
