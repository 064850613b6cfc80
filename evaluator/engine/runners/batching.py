"""Planning forward passes: shared-prefix groups, scoring rows, and batches under a token budget.

The K orders of one choice item differ only after the stem (options come last), so consecutive prompts that share
a long token prefix form a group: the prefix is run once and its key/value cache is reused by every member.
Batches are filled longest first (an out-of-memory error shows up on the first batch, not the last) until the
number of padded tokens computed would exceed the budget.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MIN_SHARED_TOKENS = 8  # below this a shared prefix saves less than the extra pass costs


@dataclass
class ScoreRow:
    """One sequence of the suffix pass: a request's tokens after its group prefix, plus a continuation.

    ``continuation`` is empty for the row that reads next-token log-probs of single-token letters; a letter
    that is not one token gets its own row whose continuation is the letter's tokens (full log-likelihood).
    """

    request: int
    suffix: list[int]
    continuation: list[int] = field(default_factory=list)
    letter: str | None = None


@dataclass
class PrefixGroup:
    prefix: list[int]
    rows: list[ScoreRow] = field(default_factory=list)

    @property
    def suffix_len(self) -> int:
        return max(len(r.suffix) + len(r.continuation) for r in self.rows)

    def cost(self) -> int:
        return len(self.prefix) + len(self.rows) * self.suffix_len


def common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def group_by_prefix(token_lists: list[list[int]], keys: list[str | None] | None = None,
                    min_shared: int = MIN_SHARED_TOKENS) -> list[tuple[int, list[int]]]:
    """Split consecutive requests into (prefix length, request indices) groups.

    With ``keys`` (the caller knows which prompts are orders of one item), consecutive requests with the same
    non-empty key form a group. Without them a request joins the open group when it shares at least
    ``min_shared`` tokens and at least a third of the first member's prompt, and later keeps at least 80% of
    the group's prefix (orders of one item lose a few tokens at the first option; another item sharing only
    the instruction would cut far more). The prefix always leaves one token per member for the suffix pass.
    """
    groups: list[tuple[int, list[int]]] = []
    prefix: list[int] = []
    members: list[int] = []
    for index, tokens in enumerate(token_lists):
        if members:
            shared = common_prefix_len(prefix, tokens)
            if keys is not None and (keys[index] or keys[members[0]]):
                joins = keys[index] == keys[members[0]]
            else:
                keep = 1 / 3 if len(members) == 1 else 0.8
                joins = shared >= min_shared and shared >= keep * len(prefix)
            if joins:
                prefix = prefix[:shared]
                members.append(index)
                continue
            groups.append((len(prefix), members))
        prefix, members = list(tokens), [index]
    if members:
        groups.append((len(prefix), members))
    return [(min(p, min(len(token_lists[i]) for i in m) - 1), m) for p, m in groups]


def budget_batches(groups: list[PrefixGroup], token_budget: int, max_rows: int = 256) -> list[list[PrefixGroup]]:
    """Batches of groups, longest first, each computing at most ``token_budget`` padded tokens (or one group).

    Groups are sorted by suffix length first: the suffix pass has K rows per group, so its padding costs most.
    """
    ordered = sorted(groups, key=lambda g: (g.suffix_len, len(g.prefix)), reverse=True)
    batches: list[list[PrefixGroup]] = []
    current: list[PrefixGroup] = []
    for group in ordered:
        trial = [*current, group]
        prefix_max = max(len(g.prefix) for g in trial)
        suffix_max = max(g.suffix_len for g in trial)
        rows = sum(len(g.rows) for g in trial)
        if current and (len(trial) * prefix_max + rows * suffix_max > token_budget or rows > max_rows):
            batches.append(current)
            current = [group]
        else:
            current = trial
    if current:
        batches.append(current)
    return batches


def length_batches(lengths: list[int], token_budget: int, max_rows: int = 256) -> list[list[int]]:
    """Indices sorted by length (longest first) and cut so that rows x longest length stays within budget."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        if current and ((len(current) + 1) * longest > token_budget or len(current) >= max_rows):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches
