"""The search box and the filters, on the ranking frame of the seeded database."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from common.db import session_scope
from leaderboard import ranking
from leaderboard.search import QueryError, apply_filters, apply_search, parse_query

README = Path(__file__).resolve().parents[2] / "README.md"


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


def test_readme_search_example_works_as_written(frame):
    example = re.search(r"search such as `([^`]+)`", README.read_text(encoding="utf-8")).group(1)
    assert example == "license:apache type:medical size:<10"  # the README names this exact query
    assert names(apply_search(frame, parse_query(example))) == ["acme/med-7b-chat@bfloat16",
                                                                "acme/med-7b-chat@float16"]


def test_licences_match_on_a_prefix(frame):
    apache = names(apply_search(frame, parse_query("license:apache")))
    assert apache and apache == names(frame[frame["license"] == "apache-2.0"])
    assert names(apply_search(frame, parse_query("license:apache-2.0"))) == apache
    assert names(apply_search(frame, parse_query("license:apache license:mit"))) == sorted(
        apache + ["sus/leaky-3b@bfloat16", "zhyi/clinic-14b@bfloat16"])
    assert names(apply_search(frame, parse_query("license:gpl"))) == []


def test_sizes_accept_comparisons_in_billions(frame):
    assert names(apply_search(frame, parse_query("size:<2"))) == ["open/base-1.5b@bfloat16", "tiny/demo-random@float32"]
    assert names(apply_search(frame, parse_query("size:>=14B"))) == ["zhyi/clinic-14b@bfloat16"]
    assert names(apply_search(frame, parse_query("size:>7 size:<1"))) == [  # alternatives
        "acme/med-7b-chat@bfloat16", "acme/med-7b-chat@float16", "tiny/demo-random@float32",
        "zhyi/clinic-14b@bfloat16"]
    assert "mystery/no-params@bfloat16" not in names(apply_search(frame, parse_query("size:<100")))  # unknown


def test_every_bad_filter_is_reported_at_once():
    with pytest.raises(QueryError) as raised:
        parse_query("type:foo fever size:huge")
    assert "type:foo is not a model type" in str(raised.value) and "size:huge is not understood" in str(raised.value)


def test_bucket_labels_that_look_like_comparisons_stay_buckets(frame):
    """'>15B' is the bucket from 15.5B up (a 15.2B model sits in 9–15B), not the comparison 'more than 15B'."""
    assert parse_query("size:>15B").fields["size"] == frozenset({">15B"})
    assert parse_query("size:<1b").fields["size"] == frozenset({"<1B"})
    assert parse_query("size:>16").fields["size"] == frozenset({">16"})
    assert names(apply_search(frame, parse_query("size:>15B"))) == names(frame[frame["size"] == ">15B"])


@pytest.mark.parametrize("text, message", [
    ("licence:mit", "Unknown filter 'licence:'"),
    ("type:", "'type:' needs a value"),
    ("flagged:maybe", "flagged:maybe is not understood; use flagged:yes or flagged:no."),
    ("size:huge", "size:huge is not understood; use a comparison in billions of parameters (size:<10, size:>=7) or "
                  "a size bucket: <1B, 1–4B, 4–9B, 9–15B, >15B, unknown."),
    ("size:<ten", "size:<ten is not understood"),
    ("type:doctor", "type:doctor is not a model type; use one of base, chat, medical, merge, other."),
    ("precision:int8", "precision:int8 is not a precision; use one of bfloat16, float16, float32."),
    ('"unclosed', "unmatched quote"),
])
def test_bad_queries_say_why_in_full_sentences(text, message):
    with pytest.raises(QueryError, match=re.escape(message)) as raised:
        parse_query(text)
    assert str(raised.value).endswith(".")  # the page appends a sentence of its own


def test_filters(frame):
    assert names(apply_filters(frame, sizes=["<1B", "unknown"])) == ["mystery/no-params@bfloat16",
                                                                   "tiny/demo-random@float32"]
    assert names(apply_filters(frame, types=["base"])) == ["open/base-1.5b@bfloat16"]
    assert names(apply_filters(frame, precisions=["float32", "float16"])) == ["acme/med-7b-chat@float16",
                                                                            "tiny/demo-random@float32"]
    hidden = apply_filters(frame, hide_flagged=True)
    assert len(hidden) == len(frame) - 1 and "sus/leaky-3b" not in set(hidden["model"])
    assert len(apply_filters(frame)) == len(frame)
