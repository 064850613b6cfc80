"""The search box and the filters, on the ranking frame of the seeded database."""
from __future__ import annotations

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import ranking
from leaderboard.search import QueryError, apply_filters, apply_search, parse_query


@pytest.fixture
def frame(engine, world) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return ranking.leaderboard_frame(session)


def names(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["model"] + "@" + frame["precision"])


def test_words_match_names_case_insensitively_and_all_must_match(frame):
    assert names(apply_search(frame, parse_query("ACME"))) == ["acme/med-7b-chat@bfloat16", "acme/med-7b-chat@float16"]
    assert names(apply_search(frame, parse_query("acme 14b"))) == []
    assert names(apply_search(frame, parse_query("clinic-14b"))) == ["zhyi/clinic-14b@bfloat16"]


def test_field_filters_combine_and_accept_aliases(frame):
    assert names(apply_search(frame, parse_query("license:MIT"))) == ["sus/leaky-3b@bfloat16",
                                                                     "zhyi/clinic-14b@bfloat16"]
    assert names(apply_search(frame, parse_query("license:mit flagged:no"))) == ["zhyi/clinic-14b@bfloat16"]
    assert names(apply_search(frame, parse_query("precision:fp16"))) == ["acme/med-7b-chat@float16"]
    assert names(apply_search(frame, parse_query("type:medical precision:bf16"))) == ["acme/med-7b-chat@bfloat16"]
    assert names(apply_search(frame, parse_query("type:base type:medical"))) == [
        "acme/med-7b-chat@bfloat16", "acme/med-7b-chat@float16", "open/base-1.5b@bfloat16"]
    assert names(apply_search(frame, parse_query("demo:yes"))) == ["tiny/demo-random@float32"]
    assert names(apply_search(frame, parse_query("size:9-15b"))) == ["zhyi/clinic-14b@bfloat16"]
    assert names(apply_search(frame, parse_query("license:unknown"))) == ["mystery/no-params@bfloat16"]
    assert names(apply_search(frame, parse_query('"acme/med-7b-chat"'))) == [
        "acme/med-7b-chat@bfloat16", "acme/med-7b-chat@float16"]


@pytest.mark.parametrize("text, message", [
    ("licence:mit", "Unknown filter 'licence:'"),
    ("type:", "'type:' needs a value"),
    ("flagged:maybe", "flagged:maybe is not understood"),
    ("size:huge", "size:huge is not a size bucket"),
    ('"unclosed', "unmatched quote"),
])
def test_bad_queries_say_why(text, message):
    with pytest.raises(QueryError, match=message):
        parse_query(text)


def test_filters(frame):
    assert names(apply_filters(frame, sizes=["<1B", "unknown"])) == ["mystery/no-params@bfloat16",
                                                                   "tiny/demo-random@float32"]
    assert names(apply_filters(frame, types=["base"])) == ["open/base-1.5b@bfloat16"]
    assert names(apply_filters(frame, precisions=["float32", "float16"])) == ["acme/med-7b-chat@float16",
                                                                            "tiny/demo-random@float32"]
    hidden = apply_filters(frame, hide_flagged=True)
    assert len(hidden) == len(frame) - 1 and "sus/leaky-3b" not in set(hidden["model"])
    assert len(apply_filters(frame)) == len(frame)
