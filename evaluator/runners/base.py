"""The runner interface every backend offers (docs/architecture.md, "Runners").

A runner turns final prompt strings into either letter log-probs (single-choice and yes/no items: one forward
pass per prompt) or greedy generations (multi-choice, cloze and free text). Prompts arrive final: the chat
template is applied by ``evaluator.prompts``, so a runner never changes the text it is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message is a plain reason for the Queue page."""


class RequestError(RuntimeError):
    """One request of a batch cannot be run (e.g. longer than the model's context); ``index`` names it."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


@dataclass
class ChoiceRequest:
    """One (item, order): the final prompt and the letters shown, e.g. ["A", "B", "C", "D", "E"].

    ``prefix_group`` (optional) names the item: consecutive requests with the same value are orders of one
    item, and the runner computes their shared prompt prefix once. Without it the runner detects shared
    prefixes from the tokens alone.
    """

    prompt: str
    letters: list[str]
    prefix_group: str | None = None


@dataclass
class RunnerInfo:
    """What the run stores about how numbers were made: backend, device, dtype, batching and its counters."""

    backend: str
    device: str
    dtype: str
    model_path: str
    settings: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class Runner(Protocol):
    name: str
    tokenizer: Any  # a transformers tokenizer: prompts apply its chat template
    info: RunnerInfo

    def letter_scores(self, requests: list[ChoiceRequest]) -> list[dict[str, float]]:
        """For each request, shown letter -> log-prob of answering that letter next."""

    def generate(self, prompts: list[str], max_new_tokens: int, stop: list[str] | None = None) -> list[str]:
        """Greedy continuations of ``prompts`` (new text only), cut at the first stop string."""

    def close(self) -> None:
        """Free the model's memory."""


def encode_prompts(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Token ids of final prompts: no special tokens added, except BOS where the tokenizer defines and uses one
    (as the model saw at training). A chat template that already wrote BOS is not given a second one. Every
    backend encodes with this, so they all score the same tokens."""
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and getattr(tokenizer, "add_bos_token", True):
        ids = [row if row[:1] == [bos] else [bos, *row] for row in ids]
    return ids


def letter_plan(tokenizer: Any, requests: list[ChoiceRequest], contexts: list[list[int]]) -> list[dict[str, list[int]]]:
    """Per request, letter -> its tokens after the prompt, checked against this tokenizer.

    A letter whose text, appended to the prompt, adds exactly one token is read from the next-token distribution;
    otherwise (several tokens, or a merge across the boundary) its own tokens are scored as a full continuation.
    """
    flat = [(i, letter) for i, r in enumerate(requests) for letter in r.letters]
    whole = encode_prompts(tokenizer, [requests[i].prompt + letter for i, letter in flat]) if flat else []
    alone = {letter: tokenizer(letter, add_special_tokens=False)["input_ids"] for _, letter in flat}
    plans: list[dict[str, list[int]]] = [{} for _ in requests]
    for (i, letter), tokens in zip(flat, whole):
        ctx = contexts[i]
        single = len(tokens) == len(ctx) + 1 and tokens[: len(ctx)] == ctx
        plans[i][letter] = tokens[-1:] if single else alone[letter]
    return plans


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """``text`` up to (not including) the earliest stop string."""
    if not stop:
        return text
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]
