"""Lenient parsing of generated structures: numbering, bullets, widths, separators, headers, 'none' answers."""
from evaluator.benchmark.scoring.parse import clean_lines, find_label, gold_tuples, parse_extraction, parse_record


def test_clean_lines_strips_numbering_and_bullets_but_not_numbers() -> None:
    text = "1. 糖尿病\n2、高血压\n(3) 肺炎\n① 头痛\n- **咳嗽**\n* 发热\n3.5mg 每日\n\n"
    assert clean_lines(text) == ["糖尿病", "高血压", "肺炎", "头痛", "咳嗽", "发热", "3.5mg 每日"]


def test_ner_lines_in_every_usual_form() -> None:
    parsed = parse_extraction("CMeEE", "答案：\n1. 糖尿病：疾病\n2、头痛（临床表现）\n- 胰岛素: 药物\n实体：类型")
    assert parsed.values == [("糖尿病", "疾病"), ("头痛", "临床表现"), ("胰岛素", "药物")]
    assert parsed.format_ok and parsed.unparsed == []


def test_prose_is_unparsed_and_not_format_ok() -> None:
    parsed = parse_extraction("CMeEE", "这段文本讲的是糖尿病患者的治疗")
    assert parsed.values == [] and parsed.unparsed and not parsed.format_ok


def test_explicit_none_is_a_valid_answer() -> None:
    parsed = parse_extraction("CMeIE", "无")
    assert parsed.values == [] and parsed.said_none and parsed.format_ok


def test_triples_with_full_width_bars_and_short_events() -> None:
    assert parse_extraction("CMeIE", "糖尿病｜临床表现｜多饮").values == [("糖尿病", "临床表现", "多饮")]
    assert parse_extraction("CHIP-CDEE", "咳嗽|否定").values == [("咳嗽", "否定", "", "")]
    assert parse_extraction("CHIP-CDEE", "低热|||").values == [("低热", "", "", "")]
    assert parse_extraction("CMeIE", "| 糖尿病 | 临床表现 | 多饮 |").values == [("糖尿病", "临床表现", "多饮")]
    assert parse_extraction("CMeIE", "糖尿病|a|b|c|d").values == []  # too many fields
    assert parse_extraction("CMeIE", "|||").values == [] and parse_extraction("CMeIE", "糖尿病").values == []


def test_slot_values_split_on_enumeration_commas() -> None:
    assert parse_extraction("SMDoc", "症状：咳嗽、发热").values == [("症状", "咳嗽"), ("症状", "发热")]


def test_terms_one_per_line_or_enumerated() -> None:
    assert parse_extraction("CHIP-CDN", "2型糖尿病、高血压\n2型糖尿病").values == [("2型糖尿病",), ("高血压",)]


def test_gold_tuples_normalise_none_placeholders() -> None:
    gold = gold_tuples("CHIP-CDEE", [{"core_name": "咳嗽", "tendency": "", "character": None, "anatomy": "无"}])
    assert gold == {("咳嗽", "", "", "")}


def test_record_fields_run_over_lines_and_accept_brackets() -> None:
    text = "【主诉】咳嗽3天\n现病史：患者3天前\n受凉后咳嗽。\n**诊断**：上呼吸道感染\n其他：无关\n建议: 多喝水"
    fields = parse_record(text, ["主诉", "现病史", "诊断", "建议", "既往史"])
    assert fields == {"主诉": "咳嗽3天", "现病史": "患者3天前\n受凉后咳嗽。", "诊断": "上呼吸道感染\n其他：无关",
                      "建议": "多喝水"}
    assert parse_record("患者咳嗽三天，诊断感冒。", ["主诉", "诊断"]) == {}


def test_find_label_prefers_exact_then_longest() -> None:
    labels = ["Disease", "Multiple", "Therapy or Surgery", "Multiple Disease"]
    assert find_label("multiple disease", labels) == "Multiple Disease"
    assert find_label("类别：Therapy or Surgery。", labels) == "Therapy or Surgery"
    assert find_label("我不确定", labels) is None
    assert find_label("", labels) is None
