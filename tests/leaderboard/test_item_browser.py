"""The question browser and the disagreements, on SQLite and PostgreSQL, checked against the seeded rows."""
from __future__ import annotations

from collections import defaultdict

import pytest

from bench.seed_results import SeededWorld, seed_demo_results
from common.db import session_scope
from leaderboard.item_browser import (PREVIEW_CHARS, BrowseError, ItemFilter, browse_items, disagreements, tag_counts,
                                      tag_text)

KEY = "zhyi/clinic-14b@bfloat16"


@pytest.fixture
def any_world(any_engine) -> SeededWorld:  # type: ignore[no-untyped-def]
    with session_scope(any_engine) as session:
        return seed_demo_results(session)


def expected_items(rows: list[dict], flt: ItemFilter) -> list[int]:
    by_item: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_item[r["item_id"]].append(r)
    chosen = []
    for item_id, group in sorted(by_item.items()):
        if flt.dimension and group[0]["dimension"] != flt.dimension or flt.task and group[0]["task"] != flt.task:
            continue
        if flt.tag and not any(r["error_primary"] == flt.tag for r in group):
            continue
        verdicts = [r["correct"] for r in group]
        outcome = "unscored" if None in verdicts else ("right" if all(verdicts) else "wrong")
        if flt.outcome in ("all", outcome):
            chosen.append(item_id)
    return chosen


@pytest.mark.parametrize("flt", [
    ItemFilter(), ItemFilter(outcome="wrong"), ItemFilter(outcome="right"), ItemFilter(outcome="unscored"),
    ItemFilter(dimension="reasoning", outcome="wrong"), ItemFilter(task="DDx-advanced"),
    ItemFilter(tag="Omissions"), ItemFilter(dimension="safety", tag="Contextual Inconsistency", outcome="wrong"),
])
def test_filters_and_paging_match_the_rows(any_engine, any_world, flt):
    rows = any_world.rows[KEY]
    expected = expected_items(rows, flt)
    run_id = any_world.runs[KEY].id
    seen: list[int] = []
    with session_scope(any_engine) as session:
        first = browse_items(session, run_id, flt, 1, 4)
        for page in range(1, first.pages + 1):
            seen += [item.item_id for item in browse_items(session, run_id, flt, page, 4).items]
    assert first.total == len(expected)
    assert seen == expected


def test_an_item_shows_every_order_with_prompt_answer_gold_and_tag(any_engine, any_world):
    run_id = any_world.runs[KEY].id
    with session_scope(any_engine) as session:
        page = browse_items(session, run_id, ItemFilter(task="Med-Exam"), 1, 10)
    rows = {(r["item_id"], r["order_index"]): r for r in any_world.rows[KEY]}
    first = page.items[0]
    assert first.task == "Med-Exam" and first.dimension == "knowledge"
    assert first.gold == ["A"] and set(first.options) == set("ABCDE")
    assert [o.order_index for o in first.orders] == [0, 1, 2, 3, 4]
    for order in first.orders:
        row = rows[(first.item_id, order.order_index)]
        assert order.prompt == row["prompt"] and order.permutation == row["permutation"]
        assert order.parsed_answer == row["parsed_answer"] and order.error_primary == row["error_primary"]
    assert page.items[-1].gold is None and page.items[-1].verdict == "unscored"  # the unscored item of the task


def test_tag_counts(any_engine, any_world):
    counts: dict[str, int] = defaultdict(int)
    for r in any_world.rows[KEY]:
        if r["error_primary"]:
            counts[r["error_primary"]] += 1
    with session_scope(any_engine) as session:
        assert tag_counts(session, any_world.runs[KEY].id) == dict(counts)


@pytest.mark.parametrize("flt, message", [
    (ItemFilter(dimension="wisdom"), "Unknown dimension 'wisdom'"),
    (ItemFilter(task="MedQuiz"), "Unknown task 'MedQuiz'"),
    (ItemFilter(task="MedSafety", dimension="knowledge"), "belongs to safety"),
    (ItemFilter(outcome="maybe"), "Unknown outcome 'maybe'"),
    (ItemFilter(tag="Typos"), "Unknown error tag 'Typos'"),
])
def test_bad_filters_say_why(engine, world, flt, message):
    with session_scope(engine) as session, pytest.raises(BrowseError, match=message):
        browse_items(session, world.runs[KEY].id, flt)


def test_bad_paging_says_why(engine, world):
    with session_scope(engine) as session:
        with pytest.raises(BrowseError, match="Page must be 1 or more"):
            browse_items(session, world.runs[KEY].id, ItemFilter(), 0)
        with pytest.raises(BrowseError, match="page size 1–100"):
            browse_items(session, world.runs[KEY].id, ItemFilter(), 1, 1000)


def test_disagreements_are_items_right_for_some_and_wrong_for_others(any_engine, any_world):
    keys = [KEY, "open/base-1.5b@bfloat16", "acme/med-7b-chat@bfloat16"]
    verdicts: dict[int, set] = defaultdict(set)
    for key in keys:
        for r in any_world.rows[key]:
            if r["order_index"] == 0 and r["correct"] is not None:
                verdicts[r["item_id"]].add(r["correct"])
    expected = sorted(i for i, v in verdicts.items() if len(v) == 2)
    run_ids = [any_world.runs[k].id for k in keys]
    with session_scope(any_engine) as session:
        total, first = disagreements(session, run_ids, 1, 5)
        _, second = disagreements(session, run_ids, 2, 5)
        assert disagreements(session, run_ids[:1], 1, 5) == (0, [])
        with pytest.raises(BrowseError, match="Unknown task"):
            disagreements(session, run_ids, task="Nope")
    assert total == len(expected) > 5
    assert [d.item.item_id for d in first + second] == expected[:10]
    for d in first:
        assert set(d.answers) == set(run_ids)
        assert {a.correct for a in d.answers.values()} == {True, False}


def test_items_carry_a_question_preview_and_tags_say_how_they_were_made(engine, world):
    with session_scope(engine) as session:
        page = browse_items(session, world.runs[KEY].id, ItemFilter(outcome="wrong"), 1, 20)
    for item in page.items:
        short = len(item.question) <= PREVIEW_CHARS
        assert item.preview == (item.question if short else item.question[:PREVIEW_CHARS] + "…")
    tagged = [o for item in page.items for o in item.orders if o.error_primary]
    assert tagged and all(tag_text(o) == f"{o.error_primary} (rule:seed)" for o in tagged)
    untagged = [o for item in page.items for o in item.orders if not o.error_primary]
    assert all(tag_text(o) == "" for o in untagged)
