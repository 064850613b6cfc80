"""Option orders for robustness (spec section 3): order 0 is the original, then seeded distinct shuffles.

A permutation is a list ``perm`` where ``perm[i]`` is the original option key shown at position i (shown letter
``SHOWN_LETTERS[i]``). Orders depend only on (seed, item key, option keys), so a run re-created from its run spec
asks exactly the same questions, and a resumed run continues with the same orders.

Yes/no items (2 options) get both orders only: asking the same two prompts five times would add no information,
so with n options the number of orders is min(K, n!).
"""
from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

DEFAULT_K = 5  # option orders per choice item (spec section 3): the original order, then 4 seeded ones

SHOWN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def shown_letters(n: int) -> list[str]:
    """The letters shown for ``n`` options, in order (A, B, C, ...)."""
    if not 0 < n <= len(SHOWN_LETTERS):
        raise ValueError(f"cannot show {n} options with single letters (1..{len(SHOWN_LETTERS)})")
    return list(SHOWN_LETTERS[:n])


def _rng(seed: int, item_key: str) -> random.Random:
    """A generator private to one item: orders do not change when other items are added or removed."""
    digest = hashlib.sha256(f"{seed}:{item_key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def option_orders(keys: Sequence[str], k: int, seed: int, item_key: str) -> list[list[str]]:
    """Up to ``k`` distinct orders of ``keys``: the original first, then seeded shuffles (min(k, n!) in all)."""
    if k < 1:
        raise ValueError(f"K must be at least 1, got {k}")
    original = list(keys)
    if len(set(original)) != len(original):
        raise ValueError(f"duplicate option keys: {original}")
    wanted = min(k, math.factorial(len(original))) if original else 1
    orders = [original]
    rng = _rng(seed, item_key)
    while len(orders) < wanted:
        candidate = original[:]
        rng.shuffle(candidate)
        if candidate not in orders:
            orders.append(candidate)
    return orders


def to_original(shown: Sequence[str], permutation: Sequence[str]) -> list[str]:
    """Map shown letters back to original option keys; letters beyond the shown options are dropped."""
    index = {letter: i for i, letter in enumerate(SHOWN_LETTERS[: len(permutation)])}
    return [permutation[index[letter]] for letter in shown if letter in index]


def to_shown(original: Sequence[str], permutation: Sequence[str]) -> list[str]:
    """Map original option keys to the letters they are shown under in ``permutation``."""
    position = {key: i for i, key in enumerate(permutation)}
    return [SHOWN_LETTERS[position[key]] for key in original if key in position]


def item_orders(kind: str, options: dict[str, str], candidates: Sequence[str], k: int, seed: int,
                item_key: str) -> list[list[str]]:
    """The orders an item is asked under: option keys for choice kinds, candidates for cloze, else one order.

    Classification lists its label set in a fixed order and is asked once (it is scored by macro-F1 over
    items, not by robustness).
    """
    from evaluator.benchmark.tasks import CHOICE_KINDS, Kind

    if kind in CHOICE_KINDS:
        return option_orders(list(options), k, seed, item_key)
    if kind == Kind.CLOZE and candidates:
        return option_orders(list(candidates), k, seed, item_key)
    return [[]]
