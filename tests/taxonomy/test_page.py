"""The organizer Tag review page, run for real with Streamlit's AppTest against a fresh SQLite database."""
from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluator.tables import TagReview
from tests.pages import PAGES, add_user, open_page, shown
from tests.taxonomy.rows import SEEDED, seed_run, seed_shuffled_choice

PAGE = PAGES / "tag_review.py"
N_TAGGED = sum(primary is not None for _, _, primary, _ in SEEDED)


def reviews(engine: Engine) -> list[tuple[int, str, str, bool]]:
    with Session(engine) as session:
        return [(r.item_result_id, r.auto_primary, r.human_primary, r.accepted)
                for r in session.exec(select(TagReview).order_by(TagReview.item_result_id))]


@pytest.mark.parametrize("organizer", [None, False])
def test_non_organizers_are_refused(engine: Engine, organizer: bool | None) -> None:
    seed_run(engine)
    at = open_page(PAGE, None if organizer is None else add_user(engine, "visitor", organizer))
    assert "for organizers" in shown(at.error[0].value)
    assert not at.button and not at.selectbox and reviews(engine) == []


def test_no_tagged_runs_yet(engine: Engine) -> None:
    at = open_page(PAGE, add_user(engine, "olivia", True))
    assert "No run has tagged results yet" in shown(at.info[0].value)


def test_sample_accept_change_and_agreement(engine: Engine) -> None:
    run_id, row_ids = seed_run(engine)
    reviewer = add_user(engine, "olivia", True)
    at = open_page(PAGE, reviewer)
    assert f"run {run_id}" in at.selectbox(key="review_run").options[0]
    assert len(at.expander) == N_TAGGED  # sample size 20 > tagged rows: every tagged row, never the correct one
    first, second = row_ids[0], row_ids[1]
    at.button(key=f"accept-{first}").click().run()
    assert f"Row {first}: accepted." in shown(at.success[0].value)
    at.selectbox(key=f"category-{second}").set_value("Omissions")
    at.text_input(key=f"note-{second}").input("只是没有覆盖要点")
    at.button(key=f"change-{second}").click().run()
    assert f"Row {second}: changed to Omissions." in shown(at.success[0].value)
    assert reviews(engine) == [(first, "Omissions", "Omissions", True), (second, "Hallucination", "Omissions", False)]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviewed (this run)"] == "2" and metrics["Accepted"] == "1"
    # kappa (O,O), (H,O) would be 0.00 from 2 reviews: too few to publish (issue 17)
    assert metrics["Cohen's kappa (this run)"] == "not enough reviews yet (2 of 30)"
    confusion = at.dataframe[0].value
    assert confusion.loc["Hallucination", "Omissions"] == 1 and confusion.loc["Omissions", "Omissions"] == 1


def test_sample_size_and_seed_pick_reproducible_rows(engine: Engine) -> None:
    seed_run(engine, copies=3)
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.number_input(key="review_size").set_value(4).run()
    first = [e.label for e in at.expander]
    at.number_input(key="review_seed").set_value(5).run()
    other = [e.label for e in at.expander]
    at.number_input(key="review_seed").set_value(0).run()
    assert len(first) == 4 and [e.label for e in at.expander] == first and other != first


def test_a_shuffled_order_shows_answer_and_reference_in_its_prompt_letters(engine: Engine) -> None:
    """The reviewed row asked the options as C, A, D, B, E: its original pick D reads as C, the reference B as D."""
    seed_shuffled_choice(engine)
    at = open_page(PAGE, add_user(engine, "olivia", True))
    text = shown(" ".join(m.value for m in at.markdown))
    assert "**Answer** (letters of the prompt above): C. 氯吡格雷 · **Reference:** D. 肝素" in text
    assert "['D']" not in text
    orders = at.dataframe[0].value  # the only dataframe before any review
    assert orders.to_dict("records") == [
        {"Order": 0, "Answer (that order's letters)": "B. 肝素", "Same options in this prompt's letters": "D. 肝素",
         "Correct": "yes"},
        {"Order": 1, "Answer (that order's letters)": "C. 氯吡格雷",
         "Same options in this prompt's letters": "C. 氯吡格雷", "Correct": "no"}]
    assert any("mapped-back answer differs between orders" in shown(c.value) for c in at.caption)


def test_kappa_with_its_interval_once_enough_reviews(engine: Engine) -> None:
    run_id, row_ids = seed_run(engine, copies=5)  # 35 tagged rows
    reviewer = add_user(engine, "olivia", True)
    from common.db import session_scope
    from evaluator.ops.review import record_review
    with session_scope(engine) as session:
        for index, row_id in enumerate(row_ids):
            if index % 8 != 2:  # the correct rows carry no tag
                record_review(session, row_id, human_primary="Omissions" if index % 5 == 0 else None,
                              reviewer_id=reviewer)
    at = open_page(PAGE, reviewer)
    kappa = {m.label: m.value for m in at.metric}["Cohen's kappa (this run)"]
    assert re.fullmatch(r"0\.\d\d \(95% CI -?\d\.\d\d–\d\.\d\d\)", kappa), kappa
