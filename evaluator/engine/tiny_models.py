"""Tiny causal LMs built locally, for tests, benchmarks and the demo leaderboard (the hub is unreachable here).

Every model is a real ``transformers`` Llama with a real byte-level BPE tokenizer, saved as safetensors with a
chat template and a model card, so it loads exactly like a hub model. Behaviours:

- ``random``: random weights (seeded): answers are noise, as a floor.
- ``letter``: weights set so that the next token is always one letter (e.g. "A") whatever the prompt: a model
  with total position bias. It zeroes every layer's output projections, puts a large constant in dimension 0 of
  every embedding, and gives only that letter's lm_head row a weight on dimension 0.
- :func:`build_script_model`: a known-answer chat model that always writes one fixed text (``答案：B``,
  ``<think>…</think>答案：C``, a refusal, nothing at all, or reasoning that never ends), whatever it is asked:
  the ``generate`` protocol's end-to-end tests and the demo's answer-writing model.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Literal

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# A Qwen3-style template with a reasoning switch: the model thinks unless enable_thinking is false, when the
# template writes an empty reasoning block itself.
THINKING_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
THINK_TOKENS = ["<think>", "</think>"]  # added as ordinary tokens (decoded like text), as Qwen3 does
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_BASE_CORPUS = (
    "请回答以下单选题。要求只输出选项，不输出解释。答案：A B C D E F G H I 是 否 患者 医生 诊断 治疗 症状 检查 "
    "高血压 糖尿病 肺炎 心肌梗死 发热 咳嗽 头痛 腹痛 药物 禁忌 主诉 现病史 既往史 个人史 婚育史 家族史 建议 "
    "The quick brown fox jumps over the lazy dog. 0123456789"
)


def build_tokenizer(out_dir: Path, corpus: list[str] | None = None, vocab_size: int = 1024,  # type: ignore[no-untyped-def]
                    chat_template: str = CHAT_TEMPLATE, added_tokens: list[str] | None = None):
    """Train a byte-level BPE on ``corpus`` (plus a small built-in text) and save it as a fast tokenizer;
    ``added_tokens`` (e.g. ``<think>``) become single ordinary tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([_BASE_CORPUS, *(corpus or [])], trainer=trainer)
    if added_tokens:
        from tokenizers import AddedToken

        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in added_tokens])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
    )
    fast.chat_template = chat_template
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_model(
    out_dir: Path | str,
    behaviour: Literal["random", "letter"] = "random",
    letter: str = "A",
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 1024,
    corpus: list[str] | None = None,
    license: str = "apache-2.0",
    tokenizer=None,  # type: ignore[no-untyped-def]
    tie_word_embeddings: bool = False,
) -> Path:
    """Write a complete model folder (config, safetensors, tokenizer, chat template, card) and return it.

    ``tokenizer`` (a fast tokenizer with the chat template set) replaces the BPE trained on ``corpus``: benchmarks
    pass a real model's tokenizer so that prompt lengths and the output layer's size are realistic.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if behaviour == "letter" and tie_word_embeddings:
        raise ValueError("a letter model sets lm_head apart from the embeddings: it cannot tie them")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer is None:
        tokenizer = build_tokenizer(out, corpus, vocab_size)
    else:
        tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=tie_word_embeddings,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    if behaviour == "letter":
        ids = tokenizer.encode(letter, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"letter {letter!r} is not one token in this tokenizer")
        with torch.no_grad():
            for layer in model.model.layers:
                layer.self_attn.o_proj.weight.zero_()
                layer.mlp.down_proj.weight.zero_()
            model.model.embed_tokens.weight[:, 0] = 100.0
            model.lm_head.weight.zero_()
            model.lm_head.weight[ids[0], 0] = 10.0
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    card = (
        f"---\nlicense: {license}\ntags:\n- medbench-demo\n---\n"
        f"# Tiny {behaviour} model (demo)\n\nBuilt locally by evaluator.engine.tiny_models for tests and the demo "
        f"leaderboard; {sum(p.numel() for p in model.parameters())} parameters; not a real medical model.\n"
    )
    (out / "README.md").write_text(card, encoding="utf-8")
    return out


def build_script_model(out_dir: Path | str, text: str, *, loop: bool = False, thinking_template: bool = False,
                       corpus: list[str] | None = None, whole: list[str] | None = None, seed: int = 0) -> Path:
    """A chat model that answers every prompt by writing ``text`` and ending its turn (``loop``: repeating the last
    token of ``text`` forever instead, e.g. reasoning that never closes). ``thinking_template`` gives it a chat
    template with a reasoning switch (:data:`THINKING_CHAT_TEMPLATE`). ``whole``: pieces of ``text`` made single
    tokens (e.g. lines ending in a line break, which the prompt's own last token is).

    How: with every layer's output projections zeroed, a position's logits depend on its own token only. The last
    token of the generation prompt and each token of ``text`` get their own embedding dimension, and the lm_head
    row of the token that follows reads that dimension; every other token leads to the end of the turn. So the
    tokens of ``text`` must be distinct (raises ValueError otherwise: reword it)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from evaluator.engine.runners.base import encode_prompts

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    template = THINKING_CHAT_TEMPLATE if thinking_template else CHAT_TEMPLATE
    think = THINK_TOKENS if "<think>" in text or thinking_template else []
    tokenizer = build_tokenizer(out, [*(corpus or []), text], 1024, chat_template=template,
                                added_tokens=[*think, *(whole or [])])
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "问题"}], tokenize=False,
                                           add_generation_prompt=True)
    trigger = encode_prompts(tokenizer, [prompt])[0][-1]
    chain = [trigger, *tokenizer.encode(text, add_special_tokens=False)]
    if len(set(chain)) != len(chain):
        raise ValueError(f"the tokens of {text!r} (after the prompt's last token) are not distinct: "
                         f"{tokenizer.convert_ids_to_tokens(chain)}")
    hidden = max(64, 8 * ((len(chain) + 8) // 8))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=False, bos_token_id=None,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.model.embed_tokens.weight[:, 0] = 100.0  # any other token: end the turn
        model.lm_head.weight.zero_()
        model.lm_head.weight[tokenizer.eos_token_id, 0] = 10.0
        successors = chain[1:] + [chain[-1] if loop and len(chain) > 1 else tokenizer.eos_token_id]
        for dim, (token, following) in enumerate(zip(chain, successors), start=1):
            model.model.embed_tokens.weight[token] = 0.0
            model.model.embed_tokens.weight[token, dim] = 100.0
            model.lm_head.weight[following, dim] = 10.0
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    (out / "README.md").write_text(
        f"---\nlicense: apache-2.0\ntags:\n- medbench-demo\n---\n# Tiny scripted model (demo)\n\nBuilt locally by "
        f"evaluator.engine.tiny_models; always writes a fixed text. Not a real medical model.\n", encoding="utf-8")
    return out


def folder_sha(path: Path | str) -> str:
    """A stable 40-hex 'commit SHA' for a local folder: the hash of its file names and contents."""
    digest = hashlib.sha1()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def model_info(path: Path | str) -> dict[str, object]:
    """Parameter count and config facts of a local folder (what the hub's safetensors metadata would say)."""
    from safetensors import safe_open

    total = 0
    for f in Path(path).glob("*.safetensors"):
        with safe_open(str(f), framework="pt") as handle:
            for key in handle.keys():
                total += math.prod(handle.get_slice(key).get_shape())
    config = json.loads((Path(path) / "config.json").read_text())
    return {"params": total, "model_type": config.get("model_type")}

