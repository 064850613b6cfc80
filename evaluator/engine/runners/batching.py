"""Planning forward passes: shared-prefix groups, scoring rows, and batches under a token budget.

The K orders of one choice item differ only after the stem (options come last), so consecutive prompts that share
a long token prefix form a group: the prefix is run once and its key/value cache is reused by every member.
Batches are filled longest first (an out-of-memory error shows up on the first batch, not the last) until the
number of padded tokens computed would exceed the budget.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MIN_SHARED_TOKENS = 8  # below this a shared prefix saves less than the extra pass costs
# A shared-prefix plan must compute at most this share of the padded tokens of the plain plan (one left-padded
# pass per batch): the second pass, the cache copied to every row and the attention over it cost about 5-10% of
# the tokens on a 34M model on CPU (bench/bench_floor.py: at 11% of the tokens shared, sharing gained 4%).
SHARING_PAYS_BELOW = 0.9


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


def budget_batches(groups: list[PrefixGroup], token_budget: int, max_rows: int = 256,
                   extra: int = 0) -> list[list[PrefixGroup]]:
    """Batches of groups, longest first, each computing at most ``token_budget`` padded tokens (or one group).

    Groups are sorted by suffix length first: the suffix pass has K rows per group, so its padding costs most.
    ``extra`` tokens are added to every row (generation: the new tokens each row may still write).
    """
    ordered = sorted(groups, key=lambda g: (g.suffix_len, len(g.prefix)), reverse=True)
    batches: list[list[PrefixGroup]] = []
    current: list[PrefixGroup] = []
    for group in ordered:
        trial = [*current, group]
        prefix_max = max(len(g.prefix) for g in trial)
        suffix_max = max(g.suffix_len for g in trial) + extra
        rows = sum(len(g.rows) for g in trial)
        if current and (len(trial) * prefix_max + rows * suffix_max > token_budget or rows > max_rows):
            batches.append(current)
            current = [group]
        else:
            current = trial
    if current:
        batches.append(current)
    return batches


def padded_tokens(batches: list[list[PrefixGroup]]) -> int:
    """Tokens the batches compute with padding: each batch's prefix pass plus its suffix pass."""
    total = 0
    for batch in batches:
        prefix_max = max(len(g.prefix) for g in batch)
        total += len(batch) * prefix_max + sum(len(g.rows) for g in batch) * max(g.suffix_len for g in batch)
    return total


def sharing_pays(shared: list[list[PrefixGroup]], plain: list[list[PrefixGroup]]) -> bool:
    """Whether the shared-prefix batches compute few enough padded tokens, against the plain batches of the same
    rows, to pay for their second pass (``SHARING_PAYS_BELOW``). Decided per call (a chunk of a run), so a suite
    of short stems runs plain while its long case items in other chunks still share their cases."""
    return padded_tokens(shared) <= SHARING_PAYS_BELOW * padded_tokens(plain)


def _prefix_groups(contexts: list[list[int]], planned: list[tuple[int, list[int]]],
                   continuations: list[dict[str, list[int]]] | None = None) -> list[PrefixGroup]:
    out = []
    for prefix_len, members in planned:
        group = PrefixGroup(prefix=list(contexts[members[0]][:prefix_len]))
        for i in members:
            suffix = list(contexts[i][prefix_len:])
            group.rows.append(ScoreRow(i, suffix))
            if continuations is not None:
                group.rows += [ScoreRow(i, suffix, list(tokens), letter)
                               for letter, tokens in continuations[i].items()]
        out.append(group)
    return out


def _plans(contexts: list[list[int]], keys: list[str | None] | None, token_budget: int, sharing: bool,
           continuations: list[dict[str, list[int]]] | None = None,
           extra: int = 0) -> tuple[list[list[PrefixGroup]], bool]:
    """The plain batches, or the shared-prefix ones where ``sharing`` is allowed and :func:`sharing_pays`."""
    plain = budget_batches(_prefix_groups(contexts, [(0, [i]) for i in range(len(contexts))], continuations),
                           token_budget, extra=extra)
    if not sharing:
        return plain, False
    shared = budget_batches(_prefix_groups(contexts, group_by_prefix(contexts, keys), continuations), token_budget,
                            extra=extra)
    return (shared, True) if sharing_pays(shared, plain) else (plain, False)


def letter_batches(contexts: list[list[int]], keys: list[str | None] | None, token_budget: int, *,
                   continuations: list[dict[str, list[int]]] | None = None,
                   sharing: bool = True) -> tuple[list[list[PrefixGroup]], bool]:
    """The batches of one letter-scoring call and whether they share prefixes.

    Plain batches (every prompt one row of one left-padded pass) unless ``sharing`` is allowed and
    :func:`sharing_pays`. ``continuations[i]`` holds request i's letters that are not one token (letter ->
    tokens): each gets its own row, scored as a continuation. The transformers runner and the planner both
    plan with this, so the planner's pass counts are the runner's."""
    return _plans(contexts, keys, token_budget, sharing, continuations)


def generation_batches(contexts: list[list[int]], keys: list[str | None] | None, token_budget: int,
                       max_new_tokens: int, *, sharing: bool = True) -> tuple[list[list[PrefixGroup]], bool]:
    """The batches of one generation call (prompts with the same limit) and whether they share prefixes.

    The same rule as letter scoring: the prompts' prefill shares an item's stem only where the shared plan's
    padded prefill tokens are at most ``SHARING_PAYS_BELOW`` of the plain plan's (the decoding steps cost the
    same either way). The budget counts every row's ``max_new_tokens`` too: they fill the cache as it decodes."""
    return _plans(contexts, keys, token_budget, sharing, extra=max_new_tokens)
