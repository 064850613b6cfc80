"""Zero-shot Chinese prompts in MedBench style (spec section 6): instruction and stem first, options last.

Options come last so that the K orders of one item share the longest possible prefix (the runner computes that
prefix once). ``PROMPT_TEMPLATE_VERSION`` is stored in every run spec: change it whenever the text produced here
changes, so that stored numbers always name the prompts that made them.

Two steps: :func:`build_message` writes the user message for one (item, order); :func:`final_prompt` turns it
into the exact string sent to the model (the model's chat template when it has one and the run asks for it,
plus an answer cue). The final string is what ``ItemResult.prompt`` stores.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import shown_letters
from evaluator.benchmark.tasks import LOGPROB_KINDS, Kind, TaskSpec

PROMPT_TEMPLATE_VERSION = "medbench-zh-v2"  # v2: extraction prompts list other.slots / other.predicates
LABEL_SETS = (("slots", "槽位"), ("predicates", "关系类型"))
ANSWER_CUE = "答案："  # choice, cloze and classification answers: the next token is the answer
OPEN_CUE = "回答："  # free text, base models only (chat models answer after the assistant header)
CANDIDATE_KINDS = frozenset({Kind.CLOZE, Kind.CLASSIFICATION})
SHORT_ANSWER_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.MULTI_CHOICE, *CANDIDATE_KINDS})


def candidates_of(item: Item) -> list[str]:
    """The closed answer list of a cloze or classification item (``other.candidates``)."""
    candidates = item.other.get("candidates") or []
    return [str(c) for c in candidates]


def build_message(task: TaskSpec, item: Item, permutation: Sequence[str]) -> str:
    """The user message for one (item, order): instruction, passage, question, then options or candidates.

    ``permutation`` is the order of original option keys (choice kinds) or of candidates (cloze); empty for
    kinds that are asked once.
    """
    parts = [task.instruction]
    if item.passage.strip():
        parts.append(item.passage.strip())
    parts.append(item.question.strip())
    if task.kind in (Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.MULTI_CHOICE):
        letters = shown_letters(len(permutation))
        parts.append("\n".join(f"{letter}. {item.options[key]}" for letter, key in zip(letters, permutation)))
    elif task.kind in CANDIDATE_KINDS:
        shown = list(permutation) if permutation else candidates_of(item)
        if shown:
            parts.append("候选项：" + "、".join(shown))
    elif task.kind is Kind.EXTRACTION:  # closed label sets the answer must use (slot names, relation types)
        for key, label in LABEL_SETS:
            if item.other.get(key):
                parts.append(f"{label}：" + "、".join(map(str, item.other[key])))
    return "\n".join(parts)


def final_prompt(message: str, task: TaskSpec, tokenizer: Any | None, use_chat_template: bool, *,
                 protocol: str = "logprob", template_kwargs: dict[str, Any] | None = None) -> str:
    """The exact text sent to the model.

    With a chat template (the model has one and the run asks for it) the message is the user turn and the
    assistant turn is opened (``template_kwargs``, e.g. ``enable_thinking``, go to the template); under the
    ``logprob`` protocol short-answer kinds scored by letter log-probs also get "答案：" so that the next token is
    the letter, while under ``generate`` the model writes its whole answer. Without a chat template every kind
    gets a cue line (a base model needs it to answer at all).
    """
    template = getattr(tokenizer, "chat_template", None) if tokenizer is not None else None
    if use_chat_template and template:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True,
            **(template_kwargs or {}),
        )
        return text + (ANSWER_CUE if protocol == "logprob" and task.kind in LOGPROB_KINDS else "")
    cue = ANSWER_CUE if task.kind in SHORT_ANSWER_KINDS else OPEN_CUE
    return f"{message}\n{cue}"


def build_prompt(
    task: TaskSpec, item: Item, permutation: Sequence[str], tokenizer: Any | None, use_chat_template: bool, *,
    protocol: str = "logprob", template_kwargs: dict[str, Any] | None = None,
) -> str:
    """:func:`build_message` then :func:`final_prompt`."""
    return final_prompt(build_message(task, item, permutation), task, tokenizer, use_chat_template,
                        protocol=protocol, template_kwargs=template_kwargs)


def template_thinks(tokenizer: Any | None) -> bool:
    """Whether the model's chat template has a reasoning block: a ``<think>`` tag or an ``enable_thinking``
    switch (Qwen3, DeepSeek-R1 distills, HuatuoGPT-o1 style). Organizers may override this at moderation."""
    template = getattr(tokenizer, "chat_template", None) if tokenizer is not None else None
    if isinstance(template, dict):  # several named templates
        template = " ".join(str(t) for t in template.values())
    return bool(template) and ("<think>" in template or "enable_thinking" in template)


def opens_reasoning(prompt: str) -> bool:
    """The prompt itself opened the reasoning block (a template ending its generation prompt with ``<think>``):
    the model's output is reasoning until it writes ``</think>``."""
    return prompt.rstrip().endswith("<think>")
