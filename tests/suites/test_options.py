"""Baked-in options are parsed out of real-world question layouts, so that they can be permuted."""
from __future__ import annotations

import pytest

from evaluator.benchmark.suites.options import options_from_list, split_options

EXPECTED = {"A": "高血压", "B": "糖尿病", "C": "冠心病", "D": "慢性肾病"}
STEM = "下列哪项是脑卒中最重要的可控危险因素？"

LAYOUTS = {
    "dot per line": "{s}\nA. 高血压\nB. 糖尿病\nC. 冠心病\nD. 慢性肾病",
    "dot inline": "{s} A. 高血压 B. 糖尿病 C. 冠心病 D. 慢性肾病",
    "full-width colon per line": "{s}\nA：高血压\nB：糖尿病\nC：冠心病\nD：慢性肾病",
    "ascii colon inline": "{s}A:高血压 B:糖尿病 C:冠心病 D:慢性肾病",
    "parenthesised per line": "{s}\n(A) 高血压\n(B) 糖尿病\n(C) 冠心病\n(D) 慢性肾病",
    "parenthesised inline": "{s} (A) 高血压 (B) 糖尿病 (C) 冠心病 (D) 慢性肾病",
    "full-width parentheses glued": "{s}（A）高血压（B）糖尿病（C）冠心病（D）慢性肾病",
    "ideographic comma per line": "{s}\nA、高血压\nB、糖尿病\nC、冠心病\nD、慢性肾病",
    "ideographic comma inline with semicolons": "{s}A、高血压；B、糖尿病；C、冠心病；D、慢性肾病",
    "closing parenthesis per line": "{s}\nA) 高血压\nB) 糖尿病\nC) 冠心病\nD) 慢性肾病",
    "full-width closing parenthesis inline": "{s} A）高血压 B）糖尿病 C）冠心病 D）慢性肾病",
    "full-width letters and dots per line": "{s}\nＡ．高血压\nＢ．糖尿病\nＣ．冠心病\nＤ．慢性肾病",
    "full-width dot glued to the stem": "{s}A．高血压B．糖尿病C．冠心病D．慢性肾病",
    "square brackets per line": "{s}\n[A] 高血压\n[B] 糖尿病\n[C] 冠心病\n[D] 慢性肾病",
    "lenticular brackets inline": "{s}【A】高血压 【B】糖尿病 【C】冠心病 【D】慢性肾病",
    "options label and indentation": "{s}\n选项：\n  A. 高血压\n  B. 糖尿病\n  C. 冠心病\n  D. 慢性肾病",
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_splits_into_stem_and_options(layout: str) -> None:
    split = split_options(LAYOUTS[layout].format(s=STEM))
    assert split is not None
    assert split.stem == STEM
    assert split.options == EXPECTED


def test_text_after_the_options_is_the_tail_not_part_of_the_last_option() -> None:
    split = split_options(f"{STEM}\nA. 高血压\nB. 糖尿病\n答案：")
    assert split is not None
    assert split.options == {"A": "高血压", "B": "糖尿病"}
    assert split.tail == "答案："


def test_letters_inside_option_text_do_not_start_new_options() -> None:
    split = split_options("缺乏哪种维生素导致巨幼细胞贫血？\nA. 维生素B1\nB. 维生素B12\nC. 维生素C")
    assert split is not None
    assert split.options == {"A": "维生素B1", "B": "维生素B12", "C": "维生素C"}


def test_nine_options_for_ddx_advanced() -> None:
    text = "鉴别诊断包括：" + " ".join(f"{letter}. 诊断{n}" for n, letter in enumerate("ABCDEFGHI", 1))
    split = split_options(text)
    assert split is not None
    assert list(split.options) == list("ABCDEFGHI")
    assert split.options["I"] == "诊断9"


def test_the_last_complete_run_wins_when_the_stem_quotes_a_letter() -> None:
    split = split_options("患者血型为A型，化验单上写着A.正常。下列说法正确的是\nA. 甲\nB. 乙\nC. 丙")
    assert split is not None
    assert split.options == {"A": "甲", "B": "乙", "C": "丙"}
    assert split.stem.endswith("下列说法正确的是")


@pytest.mark.parametrize("text", ["患者A型血，应输注哪种血？", "DNA. 是什么", "只有一个选项 A. 是", "B. 乙 C. 丙"])
def test_no_options_when_there_is_no_run_starting_at_a(text: str) -> None:
    assert split_options(text) is None


def test_options_given_as_a_list() -> None:
    assert options_from_list(["(A) 高血压", "(B) 糖尿病"]) == {"A": "高血压", "B": "糖尿病"}
    assert options_from_list(["高血压", "糖尿病"]) == {"A": "高血压", "B": "糖尿病"}
    assert options_from_list(["B. 糖尿病", "A. 高血压"]) is None  # markers out of order
    assert options_from_list(["A. 高血压", "糖尿病"]) is None  # some marked, some not
