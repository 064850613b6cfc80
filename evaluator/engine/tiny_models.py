"""Tiny causal LMs built locally, for tests, benchmarks and the demo leaderboard (the hub is unreachable here).

Every model is a real ``transformers`` Llama with a real byte-level BPE tokenizer, saved as safetensors with a
chat template and a model card, so it loads exactly like a hub model. Behaviours:

- ``random``: random weights (seeded): answers are noise, as a floor.
- ``letter``: weights set so that the next token is always one letter (e.g. "A") whatever the prompt: a model
  with total position bias. It zeroes every layer's output projections, puts a large constant in dimension 0 of
  every embedding, and gives only that letter's lm_head row a weight on dimension 0.
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
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_BASE_CORPUS = (
    "请回答以下单选题。要求只输出选项，不输出解释。答案：A B C D E F G H I 是 否 患者 医生 诊断 治疗 症状 检查 "
    "高血压 糖尿病 肺炎 心肌梗死 发热 咳嗽 头痛 腹痛 药物 禁忌 主诉 现病史 既往史 个人史 婚育史 家族史 建议 "
    "The quick brown fox jumps over the lazy dog. 0123456789"
)


def build_tokenizer(out_dir: Path, corpus: list[str] | None = None, vocab_size: int = 1024):  # type: ignore[no-untyped-def]
    """Train a byte-level BPE on ``corpus`` (plus a small built-in text) and save it as a fast tokenizer."""
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
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
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

