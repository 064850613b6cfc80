"""Every text metric on constructed answers: item outcomes and task aggregation, with hand-computed values."""
import pytest

from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import get_metric
from evaluator.benchmark.scoring.base import ItemOutcome
from evaluator.benchmark.scoring.rouge import rouge_l
from evaluator.benchmark.tasks import get_task


def _score(metric: str, task: str, item: Item, output: str | None) -> ItemOutcome:
    return get_metric(metric).score(get_task(task), item, output, None, None)


def _open(points: list[list[str]], answer: str | None = "应积极控制血压，低盐饮食，规律运动。") -> Item:
    return Item(id="o1", task="MedHC", question="高血压患者平时要注意什么？", answer=answer, answer_points=points)


# --- answer_point_recall -------------------------------------------------------------------------------------
def test_recall_counts_points_and_synonyms_after_normalisation() -> None:
    item = _open([["控制血压", "降压"], ["低盐饮食", "限盐"], ["规律运动"]])
    outcome = _score("answer_point_recall", "MedHC", item, "應積極降壓，並且限鹽。")
    assert outcome.details["covered"] == [True, True, False]
    assert outcome.score == pytest.approx(2 / 3) and outcome.correct is False
    assert 0 < outcome.details["rouge_l"] < 1


def test_recall_full_coverage_is_correct() -> None:
    item = _open([["控制血压"], ["低盐饮食"]])
    outcome = _score("answer_point_recall", "MedHC", item, "控制血压；低盐饮食。")
    assert outcome.score == 1.0 and outcome.correct is True


def test_recall_without_points_reports_rouge_only() -> None:
    outcome = _score("answer_point_recall", "MedHC", _open([]), "应积极控制血压，低盐饮食，规律运动。")
    assert outcome.score is None and outcome.correct is None
    assert outcome.details["rouge_l"] == pytest.approx(1.0)


def test_recall_unscored_item() -> None:
    outcome = _score("answer_point_recall", "MedHC", _open([["控制血压"]], answer=None), "控制血压")
    assert outcome.score is None and outcome.correct is None


def test_recall_aggregate_is_macro_over_items() -> None:
    metric = get_metric("answer_point_recall")
    groups = [[ItemOutcome(score=1.0, details={"rouge_l": 0.5})], [ItemOutcome(score=0.0, details={"rouge_l": 0.1})],
              [ItemOutcome(score=None, details={"rouge_l": None})]]
    assert metric.aggregate(groups) == pytest.approx(0.5)
    assert metric.extras(groups)["rouge_l"] == pytest.approx(0.3)
    assert metric.aggregate([[ItemOutcome()]]) is None


def test_rouge_l_on_characters() -> None:
    # LCS("患者应控制血压", "应控制血压低盐饮食") = 5; P = 5/7, R = 5/9
    assert rouge_l("患者应控制血压", "应控制血压，低盐饮食") == pytest.approx(2 * (5 / 7) * (5 / 9) / (5 / 7 + 5 / 9))
    assert rouge_l("醫療", "医疗") == 1.0
    assert rouge_l("", "医疗") == 0.0 and rouge_l("医疗", None) == 0.0


# --- micro_f1 ------------------------------------------------------------------------------------------------
def _ner(answer: list[dict] | None) -> Item:
    return Item(id="e1", task="CMeEE", question="患者有2型糖尿病，口服二甲双胍。", answer=answer)


def test_micro_f1_item_counts_with_normalised_fields() -> None:
    item = _ner([{"entity": "2型糖尿病", "type": "疾病"}, {"entity": "二甲双胍", "type": "药物"}])
    outcome = _score("micro_f1", "CMeEE", item, "1. Ⅱ型糖尿病：疾病\n2. 口服：药物")
    assert (outcome.details["tp"], outcome.details["fp"], outcome.details["fn"]) == (1, 1, 1)
    assert outcome.score == pytest.approx(0.5) and outcome.correct is False
    assert outcome.details["missed"] == [["二甲双胍", "药物"]] and outcome.details["spurious"] == [["口服", "药物"]]
    assert outcome.parsed_answer == [["Ⅱ型糖尿病", "疾病"], ["口服", "药物"]]


def test_micro_f1_exact_answer_and_empty_gold() -> None:
    item = _ner([{"entity": "二甲双胍", "type": "药物"}])
    assert _score("micro_f1", "CMeEE", item, "二甲双胍：药物").correct is True
    empty = _score("micro_f1", "CMeEE", _ner([]), "无")
    assert empty.score == 1.0 and empty.details["format_ok"]


def test_micro_f1_aggregates_counts_not_item_scores() -> None:
    metric = get_metric("micro_f1")
    groups = [[ItemOutcome(score=1.0, details={"tp": 9, "fp": 0, "fn": 0})],
              [ItemOutcome(score=0.0, details={"tp": 0, "fp": 1, "fn": 2})]]
    assert metric.aggregate(groups) == pytest.approx(18 / 21)  # 2*9 / (2*9 + 1 + 2), not the item mean 0.5
    assert metric.extras(groups) == {"tp": 9, "fp": 1, "fn": 2}
    assert metric.aggregate([]) is None


@pytest.mark.parametrize("task, output, answer", [
    ("CMeIE", "糖尿病|临床表现|多饮", [{"subject": "糖尿病", "predicate": "临床表现", "object": "多饮"}]),
    ("CHIP-CDEE", "咳嗽｜否定｜｜", [{"core_name": "咳嗽", "tendency": "否定", "character": "", "anatomy": ""}]),
    ("SMDoc", "症状：发热", [{"slot": "症状", "value": "发热"}]),
    ("CHIP-CDN", "2型糖尿病", [{"normalized": "2型糖尿病"}]),
])
def test_micro_f1_every_extraction_format(task: str, output: str, answer: list[dict]) -> None:
    item = Item(id="x", task=task, question="文本", answer=answer)
    assert _score("micro_f1", task, item, output).score == 1.0
    assert _score("micro_f1", task, item, "完全无关的一段话").score == 0.0


def test_micro_f1_bad_inputs_say_why() -> None:
    with pytest.raises(ValueError, match="list of objects"):
        _score("micro_f1", "CMeEE", _ner("糖尿病"), "糖尿病：疾病")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no output format"):
        _score("micro_f1", "MedHC", _ner([]), "x")


# --- macro_f1 ------------------------------------------------------------------------------------------------
def _ctc(answer: str | None) -> Item:
    return Item(id="c1", task="CHIP-CTC", question="年龄大于18岁", answer=answer,
                other={"candidates": ["Age", "Disease", "Multiple"]})


def test_macro_f1_item_parses_label() -> None:
    outcome = _score("macro_f1", "CHIP-CTC", _ctc("Age"), "类别：Age")
    assert outcome.parsed_answer == "Age" and outcome.correct is True
    unparsed = _score("macro_f1", "CHIP-CTC", _ctc("Age"), "不知道")
    assert unparsed.parsed_answer is None and unparsed.score == 0.0 and not unparsed.details["format_ok"]


def test_macro_f1_is_unweighted_over_labels() -> None:
    metric = get_metric("macro_f1")
    pairs = [("Age", "Age"), ("Age", "Age"), ("Age", "Disease"), ("Disease", None)]
    groups = [[ItemOutcome(score=float(g == p), details={"gold": g, "pred": p})] for g, p in pairs]
    # Age: tp2 fp0 fn1 -> 0.8; Disease: tp0 fp1 fn1 -> 0.0; macro = 0.4 (accuracy would be 0.5)
    assert metric.aggregate(groups) == pytest.approx(0.4)
    assert metric.extras(groups)["accuracy"] == pytest.approx(0.5)


def test_macro_f1_needs_candidates() -> None:
    with pytest.raises(ValueError, match="candidates"):
        _score("macro_f1", "CHIP-CTC", Item(id="c", task="CHIP-CTC", question="q", answer="Age"), "Age")


# --- field_f1 ------------------------------------------------------------------------------------------------
def _record(answer: dict | None) -> Item:
    return Item(id="r1", task="IMCS-V2-MRG", question="对话", answer=answer,
                answer_points=[["咳嗽"], ["上呼吸道感染", "上感"]])


def test_field_f1_scores_each_reference_field() -> None:
    item = _record({"主诉": "咳嗽3天", "诊断": "上呼吸道感染", "建议": "多饮水"})
    outcome = _score("field_f1", "IMCS-V2-MRG", item, "主诉：咳嗽3天\n诊断：上感")
    assert outcome.details["fields"]["主诉"] == 1.0
    assert outcome.details["fields"]["建议"] == 0.0 and outcome.details["missing_fields"] == ["建议"]
    assert outcome.details["fields"]["诊断"] == pytest.approx(rouge_l("上感", "上呼吸道感染"))
    assert outcome.score == pytest.approx((1.0 + rouge_l("上感", "上呼吸道感染")) / 3)
    assert outcome.details["point_recall"] == 1.0 and outcome.correct is False  # a field is missing


def test_field_f1_complete_record_is_correct() -> None:
    item = _record({"主诉": "咳嗽3天", "诊断": "上呼吸道感染"})
    outcome = _score("field_f1", "IMCS-V2-MRG", item, "【主诉】咳嗽3天\n【诊断】上呼吸道感染")
    assert outcome.score == 1.0 and outcome.correct is True


def test_field_f1_prose_has_no_fields() -> None:
    outcome = _score("field_f1", "IMCS-V2-MRG", _record({"主诉": "咳嗽"}), "患者咳嗽，考虑感冒")
    assert not outcome.details["format_ok"] and outcome.score == 0.0


def test_field_f1_unscored_uses_the_task_field_list() -> None:
    outcome = _score("field_f1", "DBMHG", Item(id="d", task="DBMHG", question="q"), "主诉：头痛")
    assert outcome.score is None and "家族史" in outcome.details["missing_fields"]


def test_field_f1_aggregate_and_extras() -> None:
    metric = get_metric("field_f1")
    groups = [[ItemOutcome(score=0.5, details={"rouge_l": 0.4, "point_recall": 1.0})],
              [ItemOutcome(score=1.0, details={"rouge_l": 0.8, "point_recall": 0.5})]]
    assert metric.aggregate(groups) == pytest.approx(0.75)
    assert metric.extras(groups) == pytest.approx({"rouge_l": 0.6, "point_recall": 0.75})


def test_every_metric_defines_its_formula_for_the_methodology_page() -> None:
    from evaluator.benchmark.scoring import all_metrics
    from evaluator.benchmark.tasks import TASKS

    metrics = all_metrics()
    assert {spec.metric for spec in TASKS.values()} <= set(metrics)
    assert all(isinstance(m.formula, str) and len(m.formula) > 20 for m in metrics.values())
