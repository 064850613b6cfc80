"""Normalisation cases a Chinese answer meets: width, punctuation, traditional forms, numbered classes."""
import pytest

from evaluator.benchmark.scoring.normalize import contains_any, normalize
from evaluator.benchmark.scoring.points import covered_points, recall


@pytest.mark.parametrize("variant, canonical", [
    ("ＣＴ檢查", "ct检查"),                  # full-width Latin + traditional
    ("头痛，发热！", "头痛发热"),              # full-width punctuation dropped
    ("头痛, 发热!", "头痛发热"),               # half-width punctuation and spaces dropped
    ("醫院 藥物", "医院药物"),                 # traditional -> simplified
    ("Ⅱ型糖尿病", "2型糖尿病"),               # Roman numeral (compatibility form)
    ("二型糖尿病", "2型糖尿病"),               # Chinese numeral
    ("II 型糖尿病", "2型糖尿病"),
    ("高血压３级", "高血压3级"),                # full-width digit
])
def test_variants_fold_to_one_form(variant: str, canonical: str) -> None:
    assert normalize(variant) == canonical


def test_latin_words_keep_their_letters() -> None:
    assert normalize("HIV型") == "hiv型"  # the 'v' of HIV is not a Roman five
    assert normalize(None) == ""


def test_different_content_stays_different() -> None:
    assert normalize("1型糖尿病") != normalize("2型糖尿病")
    assert normalize("高血压") != normalize("低血压")


def test_contains_any_uses_synonyms_and_normalises_both_sides() -> None:
    text = normalize("建議：限鹽，適量運動。")
    assert contains_any(text, ["低盐饮食", "限盐"])
    assert not contains_any(text, ["降压药"])
    assert not contains_any(text, ["", "。"])  # a point that normalises to nothing never counts


def test_covered_points_and_recall() -> None:
    points = [["控制血压", "降压"], ["低盐饮食", "限鹽"], ["规律运动"]]
    covered = covered_points("應當積極降壓，并注意限盐。", points)
    assert covered == [True, True, False]
    assert recall(covered) == pytest.approx(2 / 3)
    assert recall([]) is None
    assert covered_points(None, points) == [False, False, False]
