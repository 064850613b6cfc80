"""The extractor's interface: the typed result, what the caller says (truncated, thinking), bad calls."""
from __future__ import annotations

import pytest

from evaluator.benchmark.scoring.extract import Extraction, extract, split_reasoning

LETTERS = list("ABCDE")
OPTIONS = ["假性神经递质学说", "氨中毒学说", "γ-氨基丁酸学说", "氨基酸失衡学说", "锰中毒学说"]


def test_an_answer_or_a_reason_never_both() -> None:
    answer = extract("答案：B", "single_choice", LETTERS, OPTIONS)
    assert answer == Extraction(answer=("B",), rule="leading") and answer.ok
    none = extract("我无法回答", "single_choice", LETTERS, OPTIONS)
    assert none.answer == () and none.reason == "refusal" and not none.ok


def test_a_truncated_generation_keeps_only_an_answer_given_first() -> None:
    """Budget hit after "答案：B\\n解析：…": the answer stands; budget hit mid-discussion: truncated, even though a
    letter was already mentioned (it is not the model's conclusion)."""
    assert extract("答案：B\n解析：肝性脑病的发病机制中，", "single_choice", LETTERS, OPTIONS,
                   truncated=True).answer == ("B",)
    cut = extract("分析：A项假性神经递质学说不是最重要的，而B项", "single_choice", LETTERS, OPTIONS, truncated=True)
    assert cut.reason == "truncated"
    assert extract("", "single_choice", LETTERS, OPTIONS, truncated=True).reason == "truncated"


def test_reasoning_opened_by_the_prompt_must_close() -> None:
    """With ``thinking`` (the chat template opened <think>), an output without </think> is unfinished reasoning."""
    assert extract("嗯，应该是B。", "single_choice", LETTERS, OPTIONS, thinking=True).reason == "truncated"
    assert extract("嗯，应该是B。\n</think>\n\nB", "single_choice", LETTERS, OPTIONS, thinking=True).answer == ("B",)
    assert split_reasoning("<think>想一想</think>\nB") == ("想一想", "\nB", True)
    assert split_reasoning("B") == (None, "B", True)


def test_letters_are_returned_in_shown_order_and_unshown_letters_reported() -> None:
    assert extract("答案：D、A", "multi_choice", LETTERS, OPTIONS).answer == ("A", "D")
    stray = extract("答案：A、B、H", "multi_choice", LETTERS, OPTIONS)
    assert stray.answer == ("A", "B") and stray.invalid_letters == ("H",)


def test_bad_calls_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not open_ended"):
        extract("B", "open_ended", LETTERS, OPTIONS)
    with pytest.raises(ValueError, match="5 letters but 2 option texts"):
        extract("B", "single_choice", LETTERS, OPTIONS[:2])
