"""The extractor against the hand-labelled corpus (tests/extraction/corpus.jsonl), and OpenCompass's MedBench rule
on the same outputs. Each row: the output of a Chinese chat, reasoning or base model (or an adversarial one) for a
single, multi, yes/no or cloze item, with the letters and option texts shown and what a careful reader extracts."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from evaluator.benchmark.scoring.extract import CORPUS_AGREEMENT, REASONS, extract, split_reasoning
from tests.extraction.opencompass_rule import opencompass_letters

CORPUS = Path(__file__).with_name("corpus.jsonl")
MIN_AGREEMENT = 0.99


def _rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _extracted(row: dict) -> dict:
    result = extract(row["output"], row["kind"], row["letters"], row["options"], truncated=row.get("truncated", False))
    return {"answer": list(result.answer)} if result.ok else {"none": result.reason}


def _opencompass(row: dict) -> dict:
    """OpenCompass's rule, given the benefit of the doubt: it reads only the text after the reasoning, and its
    letters are compared as a set (order and repeats ignored); an empty list counts as 'no answer'."""
    _reasoning, text, closed = split_reasoning(row["output"])
    letters = sorted(set(opencompass_letters(text if closed else "")))
    return {"answer": letters} if letters else {"none": "any"}


def _agrees(got: dict, expected: dict) -> bool:
    if "none" in expected:
        return "none" in got and got["none"] in (expected["none"], "any")
    return got == expected


def measure() -> dict[str, float | int]:
    """Agreement of both rules with the hand labels (the OpenCompass rule on choice rows only: it has no cloze)."""
    rows = _rows()
    choice = [row for row in rows if row["kind"] != "cloze"]
    return {
        "rows": len(rows), "choice_rows": len(choice),
        "extractor": sum(_agrees(_extracted(r), r["expected"]) for r in rows) / len(rows),
        "extractor_choice": sum(_agrees(_extracted(r), r["expected"]) for r in choice) / len(choice),
        "opencompass_choice": sum(_agrees(_opencompass(r), r["expected"]) for r in choice) / len(choice),
    }


def test_corpus_is_large_varied_and_well_formed() -> None:
    rows = _rows()
    assert len(rows) >= 300 and len({r["id"] for r in rows}) == len(rows)
    kinds, styles = Counter(r["kind"] for r in rows), Counter(r["style"] for r in rows)
    assert set(kinds) == {"single_choice", "multi_choice", "yes_no", "cloze"} and min(kinds.values()) >= 40
    assert set(styles) == {"chat", "reasoning", "base", "adversarial"} and min(styles.values()) >= 15
    assert len({(r["output"], tuple(r["options"])) for r in rows}) == len(rows), "no row repeats another"
    for row in rows:
        assert (len(row["letters"]) == len(row["options"])) if row["kind"] != "cloze" else row["letters"] == []
        expected = row["expected"]
        assert set(expected) in ({"answer"}, {"none"}) and row["note"]
        if "none" in expected:
            assert expected["none"] in REASONS
        else:
            allowed = row["letters"] or row["options"]
            assert expected["answer"] and set(expected["answer"]) <= set(allowed)
    reasons = Counter(r["expected"].get("none") for r in rows)
    assert all(reasons[reason] >= 3 for reason in REASONS), reasons


def test_extractor_agrees_with_the_hand_labels() -> None:
    rows = _rows()
    disagreements = [(row, _extracted(row)) for row in rows if not _agrees(_extracted(row), row["expected"])]
    for row, got in disagreements:
        print(f"DISAGREE {row['id']} [{row['style']}] {row['output']!r}\n  expected {row['expected']} got {got}"
              f"  ({row['note']})")
    agreement = 1 - len(disagreements) / len(rows)
    print(f"extractor agreement: {agreement:.2%} ({len(rows) - len(disagreements)}/{len(rows)})")
    assert agreement >= MIN_AGREEMENT


def test_extractor_beats_the_opencompass_rule_and_the_page_quotes_the_measured_figures() -> None:
    figures = measure()
    print(f"choice rows: extractor {figures['extractor_choice']:.1%}, "
          f"OpenCompass MedBench rule {figures['opencompass_choice']:.1%} (n={figures['choice_rows']}); "
          f"extractor on all {figures['rows']} rows {figures['extractor']:.1%}")
    assert figures["extractor_choice"] > figures["opencompass_choice"] + 0.3
    assert CORPUS_AGREEMENT == {key: round(value, 4) if isinstance(value, float) else value
                                for key, value in figures.items()}
