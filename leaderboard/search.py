"""The leaderboard's search box and filters: ``qwen license:apache type:chat size:<10 flagged:no``.

Free words must all occur in the model name; ``key:value`` tokens narrow by a listing fact (several values of one
key are alternatives, different keys must all hold). ``license:`` matches a prefix (``apache`` finds
``apache-2.0``), because hub licences carry versions nobody types; ``size:`` takes a size bucket or a comparison in
billions of parameters (``size:<10``, ``size:>=7``). A query that cannot be understood raises :class:`QueryError`
with one message that lists what is accepted, and the page then filters nothing.
"""
from __future__ import annotations

import operator
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from leaderboard.ranking import SIZE_BUCKETS, UNKNOWN_SIZE
from submissions.forms import MODEL_TYPES, PRECISIONS, SOURCES

PRECISION_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n"}
# search key -> frame column it matches
FIELD_COLUMNS = {"license": "license", "type": "type", "precision": "precision", "size": "size",
                 "flagged": "flag", "demo": "demo", "source": "source"}
SOURCE_ALIASES = {"huggingface": "hf", "hub": "hf", "ms": "modelscope", "served": "api"}
SIZE_LABELS = [label for label, _, _ in SIZE_BUCKETS] + [UNKNOWN_SIZE]
COMPARISONS: dict[str, Callable[[pd.Series, float], pd.Series]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "=": operator.eq}
HELP = ("Words match model names. Filters: license:apache (a prefix of the licence), type:chat, precision:bf16, "
        "size:<10 or size:>=7 (billions of parameters) or a bucket such as size:4–9B, flagged:no, demo:no, "
        "source:hf, source:modelscope or source:api (served models). "
        "Repeat a key for alternatives (type:chat type:medical).")
_COMPARISON = re.compile(r"(<=|>=|<|>|=)\s*(\d+(?:\.\d+)?)\s*b?")


class QueryError(ValueError):
    """The search text cannot be understood; the message (one or more full sentences) says what is accepted."""


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...] = ()
    fields: dict[str, frozenset[str]] = field(default_factory=dict)


def size_comparison(value: str) -> tuple[str, float] | None:
    """``<10`` / ``>=7.5b`` as (operator, billions of parameters); None when ``value`` is no comparison."""
    match = _COMPARISON.fullmatch(value.strip().lower())
    return (match.group(1), float(match.group(2))) if match else None


def _one_of(key: str, value: str, valid: list[str], what: str) -> str:
    """``value`` when it is in ``valid``; else QueryError naming every valid value."""
    if value not in valid:
        raise QueryError(f"{key}:{value} is not {what}; use one of {', '.join(valid)}.")
    return value


def _normalise(key: str, value: str) -> str:
    value = value.strip().lower()
    if key == "precision":
        return _one_of(key, PRECISION_ALIASES.get(value, value), list(PRECISIONS), "a precision")
    if key == "type":
        return _one_of(key, value, list(MODEL_TYPES), "a model type")
    if key == "source":
        return _one_of(key, SOURCE_ALIASES.get(value, value), list(SOURCES), "a model source")
    if key == "size":  # a bucket's own label first: ">15.5B" and "<1B" are buckets, not comparisons
        known = {label.lower(): label for label in SIZE_LABELS}
        if value.replace("-", "–") in known:
            return known[value.replace("-", "–")]
        comparison = size_comparison(value)
        if comparison is None:
            raise QueryError(f"size:{value} is not understood; use a comparison in billions of parameters "
                             f"(size:<10, size:>=7) or a size bucket: {', '.join(SIZE_LABELS)}.")
        op, billions = comparison
        return f"{op}{billions:g}"
    if key in ("flagged", "demo"):
        if value in YES:
            return "yes"
        if value in NO:
            return "no"
        raise QueryError(f"{key}:{value} is not understood; use {key}:yes or {key}:no.")
    return value


def parse_query(text: str) -> SearchQuery:
    """Split the search text into free words and ``key:value`` filters; raise QueryError on anything else."""
    try:
        tokens = shlex.split(text or "")
    except ValueError:
        raise QueryError("The search has an unmatched quote; close it or remove it.") from None
    words: list[str] = []
    fields: dict[str, set[str]] = {}
    problems: list[str] = []  # every bad filter is reported at once, not one per attempt
    for token in tokens:
        key, sep, value = token.partition(":")
        if not sep or "/" in key:  # "org/model:tag"-like words are names, not filters
            words.append(token.lower())
            continue
        key = key.lower()
        try:
            if key not in FIELD_COLUMNS:
                raise QueryError(f"Unknown filter '{key}:'. Use {', '.join(k + ':' for k in FIELD_COLUMNS)} "
                                 "or plain words that match model names.")
            if not value.strip():
                raise QueryError(f"'{key}:' needs a value, e.g. {key}:{'mit' if key == 'license' else 'yes'}.")
            fields.setdefault(key, set()).add(_normalise(key, value))
        except QueryError as problem:
            problems.append(str(problem))
    if problems:
        raise QueryError(" ".join(problems))
    return SearchQuery(tuple(words), {k: frozenset(v) for k, v in fields.items()})


def apply_search(frame: pd.DataFrame, query: SearchQuery) -> pd.DataFrame:
    """The rows of ``frame`` that match every word and every filter of ``query``."""
    mask = pd.Series(True, index=frame.index)
    names = frame["model"].str.lower()
    for word in query.words:
        mask &= names.str.contains(word, regex=False)
    for key, values in query.fields.items():
        column = frame[FIELD_COLUMNS[key]]
        if key == "flagged":
            has_flag = column.notna() & (column.astype("string").str.len() > 0)
            if values == {"yes"}:
                mask &= has_flag
            elif values == {"no"}:
                mask &= ~has_flag
        elif key == "demo":
            mask &= column.isin({value == "yes" for value in values})
        elif key == "size":
            mask &= _size_mask(frame, values)
        elif key == "license":
            licences = column.astype("string").str.lower()
            mask &= pd.concat([licences.str.startswith(v) for v in values], axis=1).any(axis=1)
        else:
            mask &= column.astype("string").str.lower().isin(values)
    return frame[mask]


def _size_mask(frame: pd.DataFrame, values: frozenset[str]) -> pd.Series:
    """Rows in any of the named size buckets or meeting any of the comparisons (unknown sizes meet none)."""
    mask = frame["size"].isin(values)
    for value in values - set(SIZE_LABELS):
        comparison = size_comparison(value)
        if comparison is not None:
            op, billions = comparison
            mask |= COMPARISONS[op](frame["params_b"], billions).fillna(False).astype(bool)
    return mask


def apply_filters(frame: pd.DataFrame, *, sizes: list[str] | None = None, types: list[str] | None = None,
                  precisions: list[str] | None = None, hide_flagged: bool = False) -> pd.DataFrame:
    """The rows of ``frame`` inside the chosen size buckets, types and precisions (empty choice = all)."""
    mask = pd.Series(True, index=frame.index)
    if sizes:
        mask &= frame["size"].isin(sizes)
    if types:
        mask &= frame["type"].isin(types)
    if precisions:
        mask &= frame["precision"].isin(precisions)
    if hide_flagged:
        mask &= frame["flag"].isna() | (frame["flag"].astype("string").str.len() == 0)
    return frame[mask]
