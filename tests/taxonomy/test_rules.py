"""Every taxonomy rule with a positive and a negative example (the rule's own predicate, not the final tag)."""
from __future__ import annotations

import pytest

from evaluator.benchmark.taxonomy import RULES, Case
from tests.taxonomy.cases import CASE_REASONING, CTC, DDX, HYPERTENSION, NER, RECORD, SINGLE, choice_case, text_case

RULE = {rule.name: rule for rule in RULES}
GOOD_HC = "应积极控制血压，坚持低盐饮食，并规律运动。"
GOOD_RECORD = "主诉：咳嗽3天伴发热\n诊断：上呼吸道感染\n建议：多饮水，休息"

EXAMPLES: dict[str, tuple[Case, Case]] = {
    "empty_output": (text_case(HYPERTENSION, "  \n"), text_case(HYPERTENSION, "低盐饮食")),
    "refusal": (text_case(HYPERTENSION, "抱歉，我无法回答这个问题。"),
                text_case(HYPERTENSION, "不确定病因时应先就医检查，同时控制血压、低盐饮食、规律运动，避免熬夜和过量饮酒。" * 2)),
    "garbled": (text_case(HYPERTENSION, "控制\ufffd\ufffd血压"), text_case(HYPERTENSION, GOOD_HC)),
    "repetitive": (text_case(HYPERTENSION, "控制血压控制血压控制血压控制血压控制血压"),
                   text_case(HYPERTENSION, GOOD_HC)),
    "wrong_language": (text_case(HYPERTENSION, "Control blood pressure and eat less salt."),
                       text_case(HYPERTENSION, "控制血压，必要时复查CT和MRI。")),
    "truncated": (text_case(HYPERTENSION, "控制血压" + "、低盐饮食与适量运动并注意监测" * 30),
                  text_case(HYPERTENSION, "控制血压" + "、低盐饮食与适量运动并注意监测" * 30 + "。")),
    "no_parsable_answer": (text_case(NER, "这段文本讲的是糖尿病的治疗"), text_case(NER, "糖尿病：疾病")),
    "no_answer": (text_case(DDX, "需要进一步完善胸部CT和血常规检查。"), text_case(DDX, "答案：A、B")),
    "order_dependent_answer": (choice_case(SINGLE, "B", other_orders=["A", "B"]),
                               choice_case(SINGLE, "B", other_orders=["B", "B"])),
    "contradicts_case": (text_case(CASE_REASONING, "该女性患者考虑急性心肌梗死。"),
                         text_case(CASE_REASONING, "该男性患者，58岁，考虑急性心肌梗死。")),
    "missing_record_fields": (text_case(RECORD, "主诉：咳嗽3天伴发热\n诊断：上呼吸道感染"),
                              text_case(RECORD, GOOD_RECORD)),
    "wrong_conclusion": (text_case(CASE_REASONING, "考虑肺栓塞，依据为胸痛、ST段抬高。"),
                         text_case(CASE_REASONING, "考虑急性心肌梗死，依据为胸痛。")),
    "extra_options": (choice_case(DDX, ["A", "B", "C", "E"]), choice_case(DDX, ["A", "B"])),
    "invented_span": (text_case(NER, "2型糖尿病：疾病\n胰岛素：药物"), text_case(NER, "2型糖尿病：疾病\n二甲双胍：疾病")),
    "unsupported_content": (text_case(HYPERTENSION, "建议每天针灸三次，并服用中药汤剂调理气血，三个月后可停药。"),
                            text_case(HYPERTENSION, "高血压患者要控制血压，低盐饮食，规律运动，注意生活。")),
    "non_clinical_style": (text_case(RECORD, "主诉：你说咳嗽3天啦\n诊断：我觉得是上感吧\n建议：多喝水哦"),
                           text_case(RECORD, GOOD_RECORD)),
    "too_few_options": (choice_case(DDX, ["A", "B"]), choice_case(DDX, ["A", "B", "C", "E"])),
    "uncovered_points": (text_case(HYPERTENSION, "应积极控制血压。"), text_case(HYPERTENSION, GOOD_HC)),
    "wrong_label": (text_case(CTC, "Disease"), text_case(CTC, "不好说")),
}


def test_every_rule_has_examples() -> None:
    assert set(EXAMPLES) == set(RULE)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_rule_matches_its_positive_example(name: str) -> None:
    assert RULE[name].matches(EXAMPLES[name][0])


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_rule_does_not_match_its_negative_example(name: str) -> None:
    assert not RULE[name].matches(EXAMPLES[name][1])


def test_english_terms_inside_a_chinese_answer_are_not_wrong_language() -> None:
    mixed = "高血压患者可选用ACEI或ARB类药物，如enalapril、losartan，并监测blood pressure。"
    assert not RULE["wrong_language"].matches(text_case(HYPERTENSION, mixed))
    assert RULE["wrong_language"].matches(text_case(HYPERTENSION, "建议：" + "take enalapril daily and check blood pressure"))


def test_a_parsed_answer_with_an_uncertain_state_is_no_refusal() -> None:
    from evaluator.benchmark.items import Item

    event = Item(id="cd", task="CHIP-CDEE", question="可疑肺炎支原体感染，伴低热。",
                 answer=[{"core_name": "肺炎支原体感染", "tendency": "不确定", "character": "", "anatomy": ""},
                         {"core_name": "低热", "tendency": "", "character": "", "anatomy": ""}])
    assert not RULE["refusal"].matches(text_case(event, "肺炎支原体感染|不确定||"))
    assert RULE["refusal"].matches(text_case(event, "不确定"))


def test_extraction_rules_on_counts() -> None:
    missed = text_case(NER, "2型糖尿病：疾病")
    assert RULE["uncovered_points"].matches(missed) and not RULE["wrong_label"].matches(missed)
    relabelled = text_case(NER, "2型糖尿病：疾病\n二甲双胍：疾病")
    assert RULE["wrong_label"].matches(relabelled)


def test_option_outside_those_shown_is_hallucinated() -> None:
    assert RULE["extra_options"].matches(choice_case(SINGLE, "F", raw="F"))
    assert not RULE["extra_options"].matches(choice_case(SINGLE, "B", raw="B"))


def test_reasoning_choice_with_no_correct_option_is_a_wrong_conclusion() -> None:
    assert RULE["wrong_conclusion"].matches(choice_case(DDX, ["C", "D"]))
    assert not RULE["wrong_conclusion"].matches(choice_case(DDX, ["A", "C"]))
    assert not RULE["wrong_conclusion"].matches(choice_case(SINGLE, "B"))  # not a reasoning task


def test_generated_choice_answers_are_tagged_by_the_extractors_verdict() -> None:
    """Several letters for a single-choice item: Format Mismatch; no pick: Unanswered; a refusal at any length:
    Unanswered; reasoning never closed: Output Error. Letter-scored rows (no text) get none of these."""
    from evaluator.benchmark.taxonomy import tag

    several = text_case(SINGLE, "答案：A或B")
    assert tag(several)["primary"] == "Format Mismatch" and tag(several)["method"] == "rule:no_parsable_answer"
    assert tag(text_case(DDX, "我认为是感染"))["method"] == "rule:no_answer"
    long_refusal = "作为一个AI语言模型，我不能替代医生给出诊断意见，这个问题涉及具体病情，建议您携带检查结果到正规医院就诊并咨询专业医生。"
    assert tag(text_case(SINGLE, long_refusal))["method"] == "rule:refusal"
    assert tag(text_case(SINGLE, "<think>\n先看A项……"))["method"] == "rule:truncated"
    assert tag(text_case(SINGLE, "<think>嗯</think>\n"))["method"] == "rule:empty_output"
    assert not RULE["no_parsable_answer"].matches(choice_case(SINGLE, "B", raw=None))


def test_every_rule_says_in_plain_words_what_triggers_it():
    """The Methodology page's rules table shows Rule.trigger: every rule has one, without code markup."""
    from evaluator.benchmark.taxonomy import RULES

    assert len({rule.name for rule in RULES}) == len(RULES) == 19
    assert all(rule.trigger and "``" not in rule.trigger and ":mod:" not in rule.trigger and "  " not in rule.trigger
               for rule in RULES)
