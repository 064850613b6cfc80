"""What a reader wants to know about a model, read at intake from its card metadata and config.json: who made it,
what it was fine-tuned from and how, which languages, a paper or homepage link, and its context length.

Stored on the model entry as ``ModelEntry.card_data["facts"]`` (no new column: the card metadata already lives
there). Every value is card- or config-controlled text: pages show it escaped, and a link is kept only when it
is an https URL with a host (no ``javascript:``, no ``http:``, no spaces or control characters).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

FACTS_KEY = "facts"  # the key under ModelEntry.card_data
MAX_TEXT = 100  # per value: a card cannot fill the page
MAX_ITEMS = 8  # per list (base models, languages)
# The card's own word for how it relates to its base model (Hugging Face's `base_model_relation`), else tags.
RELATIONS = {"adapter": "adapter (LoRA/PEFT)", "merge": "merge", "quantized": "quantized", "finetune": "full fine-tune"}
RELATION_TAGS = (("lora", "adapter"), ("peft", "adapter"), ("qlora", "adapter"), ("merge", "merge"),
                 ("mergekit", "merge"), ("gptq", "quantized"), ("awq", "quantized"), ("gguf", "quantized"))
LINK_KEYS = ("paper", "homepage", "repository", "url")  # card keys that may hold a link, in order of preference
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")
_ARXIV_TAG = re.compile(r"^arxiv:(\d{4}\.\d{4,5})(v\d+)?$", re.IGNORECASE)
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")


def https_url(value: Any) -> str | None:
    """``value`` when it is an https URL with a host and nothing that could break out of a link; else None."""
    if not isinstance(value, str) or len(value) > 300 or _UNSAFE.search(value):
        return None
    parts = urlsplit(value)
    return value if parts.scheme == "https" and parts.hostname and not parts.username else None


def _texts(value: Any) -> list[str]:
    """A card value that may be one string or a list, as a short list of short strings."""
    values = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return [str(v)[:MAX_TEXT] for v in values if isinstance(v, (str, int, float))][:MAX_ITEMS]


def _finetune(card: dict[str, Any], base_models: list[str]) -> str:
    relation = card.get("base_model_relation")
    if isinstance(relation, str) and relation in RELATIONS:
        return RELATIONS[relation]
    tags = {str(t).lower() for t in _texts(card.get("tags")) + _texts(card.get("library_name"))}
    for tag, kind in RELATION_TAGS:
        if tag in tags:
            return RELATIONS[kind]
    return RELATIONS["finetune"] if base_models else ""


def _link(card: dict[str, Any]) -> str | None:
    for tag in _texts(card.get("tags")):
        if match := _ARXIV_TAG.match(tag):
            return f"https://arxiv.org/abs/{match.group(1)}"
    return next((url for key in LINK_KEYS if (url := https_url(card.get(key)))), None)


def context_length(config: dict[str, Any] | None) -> int | None:
    """The longest input the config declares (max_position_embeddings and its older names), also inside a
    multimodal model's ``text_config``; None when it declares none."""
    for part in (config or {}, (config or {}).get("text_config") or {}):
        if not isinstance(part, dict):
            continue
        for key in CONTEXT_KEYS:
            value = part.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000_000:
                return value
    return None


def card_facts(card: dict[str, Any], hub_id: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts of one model from its card metadata (the YAML header) and config.json.

    ``organisation``: the card's ``model_creator`` if set, else the hub namespace; ``base_model``: list;
    ``finetune``: adapter / merge / quantized / full fine-tune ('' for a model with no base model);
    ``languages``: list; ``link``: an https paper (arXiv tag) or homepage URL, or None; ``context_length``."""
    base_models = _texts(card.get("base_model"))
    creator = _texts(card.get("model_creator"))
    return {
        "organisation": creator[0] if creator else (hub_id.split("/", 1)[0][:MAX_TEXT] if "/" in hub_id else ""),
        "base_model": base_models,
        "finetune": _finetune(card, base_models),
        "languages": _texts(card.get("language")),
        "link": _link(card),
        "context_length": context_length(config),
    }
