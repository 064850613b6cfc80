"""A real model that always picks the same option *content*, whatever letter it is shown under.

It is a tiny Llama (evaluator.engine.tiny_models) trained here for a few hundred steps on prompts written by
evaluator.benchmark.prompts: random stems, options drawn from a small drug list in random order, and the letter of the
option "阿司匹林" as the only target (loss on the answer position only). Content tracking is learnt, not wired:
the model must find the marker among the options and copy the letter in front of it.
"""
from __future__ import annotations

import random
from pathlib import Path

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import shown_letters
from evaluator.benchmark.prompts import build_prompt
from evaluator.benchmark.tasks import get_task

MARKER = "阿司匹林"
OTHERS = ["布洛芬", "青霉素", "二甲双胍", "胰岛素", "地高辛", "华法林", "肝素"]
STEMS = ["患者发热三天", "咳嗽伴胸痛", "高血压病史十年", "糖尿病患者复诊", "腹痛两小时", "头痛伴呕吐", "心悸气短"]


def content_items(n: int, seed: int, marker_share: float = 1.0) -> list[Item]:
    """Med-Exam style items with 4 single-token drug options; the marker is the answer in ``marker_share``."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        options = rng.sample(OTHERS, 3) + [MARKER]
        rng.shuffle(options)
        letters = shown_letters(4)
        marker_letter = letters[options.index(MARKER)]
        other_letter = rng.choice([x for x in letters if x != marker_letter])
        answer = marker_letter if rng.random() < marker_share else other_letter
        items.append(Item(id=f"content-{seed}-{i}", task="Med-Exam", question=rng.choice(STEMS) + "，首选药物是？",
                          options=dict(zip(letters, options)), answer=[answer]))
    return items


def build_content_model(out_dir: Path, steps: int = 400, seed: int = 0) -> Path:
    """Train and save the always-阿司匹林 model; returns its folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evaluator.engine.tiny_models import build_tiny_model

    corpus = [MARKER, *OTHERS, *STEMS] * 20
    folder = build_tiny_model(out_dir, "random", seed=seed, hidden_size=64, num_layers=2, vocab_size=600, corpus=corpus)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    task = get_task("Med-Exam")
    letter_ids = {x: tokenizer(x, add_special_tokens=False)["input_ids"][0] for x in shown_letters(4)}
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    tokenizer.padding_side = "left"
    for step in range(steps):
        batch = content_items(32, seed=rng.randrange(1 << 30))
        prompts = [build_prompt(task, item, list(item.options), tokenizer, use_chat_template=False) for item in batch]
        targets = torch.tensor([letter_ids[next(k for k, v in item.options.items() if v == MARKER)] for item in batch])
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        positions = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        logits = model(**enc, position_ids=positions, logits_to_keep=1).logits[:, -1]
        loss = torch.nn.functional.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(folder)
    return folder
