"""The runner interface every backend offers (docs/architecture.md, "Runners").

A runner turns final prompt strings into either letter log-probs (single-choice and yes/no items: one forward
pass per prompt) or greedy generations (multi-choice, cloze and free text). Prompts arrive final: the chat
template is applied by ``evaluator.benchmark.prompts``, so a runner never changes the text it is given.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message is a plain reason for the Queue page."""


class Interrupted(RuntimeError):
    """The runner's ``interrupt`` callable gave a reason (a cancel, the time limit) in the middle of a call; the
    call's results are dropped. Why mid-call: one chunk of generation can take minutes on a slow model, and a
    cancel that waits for the chunk's end leaves an organizer watching a "cancelled" run that still computes."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_interrupt(interrupt: Callable[[], str | None] | None) -> None:
    """Raise Interrupted when ``interrupt`` (if any) gives a reason."""
    reason = interrupt() if interrupt is not None else None
    if reason:
        raise Interrupted(reason)


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
class GenerationRequest:
    """One prompt to answer in text, greedily.

    ``prefix_group`` as for :class:`ChoiceRequest` (the K orders of one item share their stem). ``settled``
    (optional) is asked, at each completed line, whether the text so far already fixes the answer (the extractor's
    :func:`~evaluator.benchmark.scoring.extract.answer_settled`); when it says so the row stops early, as at a stop string.
    """

    prompt: str
    max_new_tokens: int
    stop: list[str] | None = None
    prefix_group: str | None = None
    settled: Callable[[str], bool] | None = None


@dataclass
class Generation:
    """A generated text and how generation ended: ``finish_reason`` "stop" (end of turn, stop string, answer
    settled) or "length" (the budget ran out: the text may be cut); ``tokens`` generated.

    ``reasoning``: the reasoning where the backend returns it apart from the answer (a served model behind a
    reasoning parser: ``reasoning_content``); then ``text`` is the answer alone. None: any reasoning is inline in
    ``text`` (``<think>…</think>``), split by the engine. ``reasoning_tokens``: the backend's own count where it has
    one (an API's ``completion_tokens_details``); None: the engine counts."""

    text: str
    finish_reason: str
    tokens: int
    reasoning: str | None = None
    reasoning_tokens: int | None = None


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
    # checked between batches (and between decoding steps where the backend allows): a reason raises Interrupted
    interrupt: Callable[[], str | None] | None

    def letter_scores(self, requests: list[ChoiceRequest]) -> list[dict[str, float]]:
        """For each request, shown letter -> log-prob of answering that letter next."""

    def generate(self, prompts: list[str], max_new_tokens: int, stop: list[str] | None = None) -> list[str]:
        """Greedy continuations of ``prompts`` (new text only), cut at the first stop string."""

    def generate_requests(self, requests: list[GenerationRequest]) -> list[Generation]:
        """Greedy answers with their finish reason and token count (the ``generate`` protocol's call)."""

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


LETTER_TAIL_CHARS = 16  # prompt text that decides how an appended letter tokenizes (see letter_plan)


def letter_plan(tokenizer: Any, requests: list[ChoiceRequest], contexts: list[list[int]]) -> list[dict[str, list[int]]]:
    """Per request, letter -> its tokens after the prompt, checked against this tokenizer.

    A letter whose text, appended to the prompt, adds exactly one token is read from the next-token distribution;
    otherwise (several tokens, or a merge across the boundary) its own tokens are scored as a full continuation.

    Why tails: encoding every prompt again once per letter cost as much as a sixth of a small model's scoring
    time. Whether a letter merges with the text before it depends only on the prompt's last few characters, and
    prompts of one task end alike (the chat template's assistant turn, "答案："). So each distinct tail is checked
    once: when the tail's own tokens, after a cut word at its start, are exactly the end of the prompt's tokens,
    and the whole prompt plus the letter (encoded once per tail, as a check) agrees, the tail's answer holds for
    every prompt ending with those tokens.
    Anything else is checked on the whole prompt, as before.
    """
    plans: list[dict[str, list[int]]] = [{} for _ in requests]
    alone: dict[str, list[int]] = {}
    tails: dict[str, tuple[list[int], dict[str, list[int] | None]] | None] = {}  # None: tail not usable
    whole_checks: list[tuple[int, str]] = []
    for i, request in enumerate(requests):
        tail = request.prompt[-LETTER_TAIL_CHARS:]
        if tail not in tails:
            tails[tail] = _tail_plan(tokenizer, request, contexts[i], tail)
        plan = tails[tail]
        for letter in request.letters:
            if letter not in alone:
                alone[letter] = tokenizer(letter, add_special_tokens=False)["input_ids"]
            if plan is not None and letter in plan[1] and _ends_with(contexts[i], plan[0]):
                plans[i][letter] = plan[1][letter] or alone[letter]
            else:
                whole_checks.append((i, letter))
    whole = encode_prompts(tokenizer, [requests[i].prompt + letter for i, letter in whole_checks]) if whole_checks else []
    for (i, letter), tokens in zip(whole_checks, whole):
        plans[i][letter] = _single(tokens, contexts[i]) or alone[letter]
    return plans


def _tail_plan(tokenizer: Any, request: ChoiceRequest, context: list[int],
               tail: str) -> tuple[list[int], dict[str, list[int] | None]] | None:
    """(the prompt's last tokens that the tail reproduces, letter -> [token] when it adds one token after the
    prompt, else None) for prompts ending in ``tail``; None when the tail cannot stand for the prompt."""
    if len(tail) < LETTER_TAIL_CHARS:
        return None
    tail_ids = tokenizer(tail, add_special_tokens=False)["input_ids"]
    # the tail may start inside a word or a special token: its first tokens can differ from the prompt's
    shared = next((tail_ids[j:] for j in range(len(tail_ids) - 1) if _ends_with(context, tail_ids[j:])), None)
    if shared is None or len(shared) < 2:
        return None
    with_letters = tokenizer([tail + letter for letter in request.letters], add_special_tokens=False)["input_ids"]
    checks = encode_prompts(tokenizer, [request.prompt + letter for letter in request.letters])
    plan: dict[str, list[int] | None] = {}
    for letter, tail_tokens, full_tokens in zip(request.letters, with_letters, checks):
        by_tail = _single(tail_tokens, tail_ids)
        if by_tail != _single(full_tokens, context):
            return None  # this tokenizer looks further back than the tail: check every prompt whole
        plan[letter] = by_tail
    return shared, plan


def _single(tokens: list[int], context: list[int]) -> list[int] | None:
    """[the one added token] when ``tokens`` is ``context`` plus exactly one token, else None."""
    if len(tokens) == len(context) + 1 and tokens[: len(context)] == context:
        return tokens[-1:]
    return None


def _ends_with(tokens: list[int], tail: list[int]) -> bool:
    return bool(tail) and len(tokens) >= len(tail) and tokens[len(tokens) - len(tail):] == tail


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """``text`` up to (not including) the earliest stop string."""
    if not stop:
        return text
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]
