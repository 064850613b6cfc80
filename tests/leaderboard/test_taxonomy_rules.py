"""The Methodology page's rule table, read from evaluator.taxonomy's documentation."""
from __future__ import annotations

import evaluator.taxonomy as taxonomy
from leaderboard.taxonomy_rules import rule_rows


def test_every_rule_is_listed_in_checking_order_with_its_category_and_trigger():
    rows = rule_rows()
    assert [(r.name, r.category) for r in rows] == [(r.name, r.category) for r in taxonomy.RULES]
    by_name = {r.name: r for r in rows}
    assert by_name["empty_output"].trigger == "the output is empty or whitespace"
    assert by_name["empty_output"].surface and not by_name["wrong_label"].surface
    assert by_name["uncovered_points"].hard_case and not by_name["garbled"].hard_case


def test_triggers_are_plain_text_without_code_markup_or_line_wraps():
    rows = rule_rows()
    assert all(r.trigger and "``" not in r.trigger and ":mod:" not in r.trigger and "  " not in r.trigger
               for r in rows)
    wrapped = {r.name: r.trigger for r in rows}["no_parsable_answer"]  # two source lines, with ``实体：类型``
    assert wrapped == ("an answer exists but the parser found none in the required form (no letter, no candidate "
                       "label, no 实体：类型 line, no field)")
