"""Review API on SQLite and PostgreSQL: seeded samples, accept/change, kappa and confusion."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evaluator.benchmark.agreement import (MIN_REVIEWS_FOR_KAPPA, agreement_summary, cohen_kappa, confusion,
                                          kappa_interval, kappa_text)
from evaluator.ops.review import ReviewError, draw_sample, record_review, review_context, reviewable_runs
from evaluator.tables import ItemResult, TagReview
from tests.pages import add_user
from tests.taxonomy.rows import SEEDED, seed_run, seed_shuffled_choice


def test_kappa_against_hand_computed_values() -> None:
    # 10 pairs, observed 0.7; auto marginals O:5 H:5, human O:6 H:4 -> expected 0.5; kappa 0.4
    pairs = [("O", "O")] * 4 + [("O", "H")] + [("H", "H")] * 3 + [("H", "O")] * 2
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([("O", "O"), ("H", "H")]) == pytest.approx(1.0)
    assert cohen_kappa([("O", "H"), ("H", "O")]) == pytest.approx(-1.0)
    assert cohen_kappa([]) is None and cohen_kappa([("O", "O")]) is None


def test_confusion_has_every_category_on_both_axes() -> None:
    table = confusion([("Omissions", "Omissions"), ("Omissions", "Hallucination")])
    assert len(table) == 8 and all(len(row) == 8 for row in table.values())
    assert table["Omissions"]["Hallucination"] == 1 and table["Omissions"]["Omissions"] == 1
    assert sum(sum(row.values()) for row in table.values()) == 2


def test_sample_is_seeded_and_only_tagged_rows(any_engine) -> None:  # type: ignore[no-untyped-def]
    run_id, _ = seed_run(any_engine, copies=3)
    with Session(any_engine) as session:
        first = [row.id for row in draw_sample(session, run_id, size=5, seed=7)]
        again = [row.id for row in draw_sample(session, run_id, size=5, seed=7)]
        other = [row.id for row in draw_sample(session, run_id, size=5, seed=8)]
        everything = draw_sample(session, run_id, size=1000)
    assert first == again and len(first) == 5 and first == sorted(first)
    assert other != first
    tagged = sum(primary is not None for _, _, primary, _ in SEEDED) * 3
    assert len(everything) == tagged and all(row.error_primary for row in everything)


def test_sample_bad_inputs(engine) -> None:  # type: ignore[no-untyped-def]
    run_id, _ = seed_run(engine)
    with Session(engine) as session:
        with pytest.raises(ReviewError, match="at least 1"):
            draw_sample(session, run_id, size=0)
        with pytest.raises(ReviewError, match="run 999 does not exist"):
            draw_sample(session, 999)


def test_accept_and_change_then_summary(any_engine) -> None:  # type: ignore[no-untyped-def]
    run_id, row_ids = seed_run(any_engine)
    reviewer = add_user(any_engine, "org", organizer=True)
    omissions, hallucination, _correct, causal, *_rest, judged = row_ids
    with Session(any_engine) as session:
        record_review(session, omissions, reviewer_id=reviewer)  # accept
        record_review(session, hallucination, human_primary="Omissions", reviewer_id=reviewer, note=" 其实是遗漏 ")
        record_review(session, causal, human_primary="Causal Reasoning Deficiency")  # explicit accept
        record_review(session, judged, human_primary="Hallucination")
        session.commit()
    with Session(any_engine) as session:
        changed = session.exec(select(TagReview).where(TagReview.item_result_id == hallucination)).one()
        assert (changed.auto_primary, changed.human_primary, changed.accepted) == ("Hallucination", "Omissions", False)
        assert changed.note == "其实是遗漏" and changed.auto_method == "rule:unsupported_content"
        assert session.get(ItemResult, hallucination).error_tags["human"] == "Omissions"
        summary = agreement_summary(session, run_id)
    assert (summary["n_reviewed"], summary["n_accepted"], summary["n_changed"]) == (4, 2, 2)
    assert summary["observed_agreement"] == pytest.approx(0.5)
    # pairs: (O,O) (H,O) (C,C) (O,H): observed .5; auto O2 H1 C1, human O2 H1 C1 -> expected 6/16
    assert summary["kappa"] == pytest.approx((0.5 - 6 / 16) / (1 - 6 / 16))
    assert summary["confusion"]["Hallucination"]["Omissions"] == 1
    assert summary["per_category"]["Omissions"] == {"auto": 2, "human": 2, "agreed": 1, "precision": 0.5, "recall": 0.5}
    assert summary["by_method"]["rule"]["n"] == 3 and summary["by_method"]["judge"]["agreement"] == 0.0
    assert summary["runs"] == [run_id]


def test_reviewing_again_replaces_the_review(engine) -> None:  # type: ignore[no-untyped-def]
    run_id, row_ids = seed_run(engine)
    with Session(engine) as session:
        record_review(session, row_ids[0], human_primary="Hallucination")
        record_review(session, row_ids[0])
        session.commit()
        reviews = session.exec(select(TagReview)).all()
    assert len(reviews) == 1 and reviews[0].accepted and reviews[0].human_primary == "Omissions"


def test_bad_reviews_change_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    run_id, row_ids = seed_run(engine)
    correct_row = row_ids[2]
    with Session(engine) as session:
        with pytest.raises(ReviewError, match="unknown category 'Typo'"):
            record_review(session, row_ids[0], human_primary="Typo")
        with pytest.raises(ReviewError, match="no automatic tag"):
            record_review(session, correct_row)
        with pytest.raises(ReviewError, match="does not exist"):
            record_review(session, 10_000)
        session.commit()
        assert session.exec(select(TagReview)).all() == []
        assert "human" not in session.get(ItemResult, row_ids[0]).error_tags
        empty = agreement_summary(session)
    assert empty["n_reviewed"] == 0 and empty["kappa"] is None and empty["observed_agreement"] is None


def test_reviewable_runs_count_tagged_and_reviewed_rows(engine) -> None:  # type: ignore[no-untyped-def]
    first, first_rows = seed_run(engine)
    second, _ = seed_run(engine, copies=2)
    with Session(engine) as session:
        record_review(session, first_rows[0])
        session.commit()
        runs = reviewable_runs(session)
    tagged = sum(primary is not None for _, _, primary, _ in SEEDED)
    assert [(r["run_id"], r["n_tagged"], r["n_reviewed"]) for r in runs] == [(second, 2 * tagged, 0),
                                                                              (first, tagged, 1)]
    assert runs[0]["model"] == "(no model)" and runs[0]["status"] == "finished"


def test_review_context_uses_the_letters_of_the_prompt_shown(engine) -> None:  # type: ignore[no-untyped-def]
    """Order 1 shows C, A, D, B, E at letters A..E: the model's original pick D is shown as C, the reference B
    as D; each order's answer is given in its own letters and in the reviewed prompt's letters."""
    run_id, row_id = seed_shuffled_choice(engine)
    with Session(engine) as session:
        context = review_context(session, session.get(ItemResult, row_id))
    assert context.answer == "C. 氯吡格雷" and context.reference == "D. 肝素"
    assert [(o.order_index, o.answer, o.answer_in_reviewed, o.correct) for o in context.orders] == [
        (0, "B. 肝素", "D. 肝素", True), (1, "C. 氯吡格雷", "C. 氯吡格雷", False)]
    assert context.rule.startswith("a choice or cloze item's mapped-back answer differs between orders")


def test_every_tag_method_is_described_in_words() -> None:
    from evaluator.benchmark.taxonomy import RULES, describe_method

    assert all(rule.trigger in describe_method(f"rule:{rule.name}") for rule in RULES)
    assert "default category" in describe_method("rule:fallback")
    assert "judge model tiny" in describe_method("judge:tiny")
    assert describe_method("rule:nonsense") == "unknown method rule:nonsense"


def test_kappa_interval_brackets_kappa_and_narrows_with_more_reviews() -> None:
    pairs = [("O", "O")] * 4 + [("O", "H")] + [("H", "H")] * 3 + [("H", "O")] * 2  # kappa 0.4
    low, high = kappa_interval(pairs)
    assert low < 0.4 < high and kappa_interval(pairs) == (low, high)  # seeded: the published figure is stable
    wide = high - low
    low10, high10 = kappa_interval(pairs * 10)
    assert low10 < 0.4 < high10 and high10 - low10 < wide / 2  # ~1/sqrt(10) as wide
    assert kappa_interval([("O", "O")]) is None and kappa_interval([("O", "O")] * 5) is None  # one label only


def test_kappa_is_published_only_from_the_minimum_number_of_reviews() -> None:
    assert MIN_REVIEWS_FOR_KAPPA == 30
    assert kappa_text(0.0, [-0.5, 0.5], 2) == "not enough reviews yet (2 of 30)"
    assert kappa_text(0.4, [0.21, 0.58], 30) == "0.40 (95% CI 0.21–0.58)"
    assert kappa_text(None, None, 40) == "undefined (one category only)"
