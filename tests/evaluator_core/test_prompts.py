"""Prompts: instruction and stem first, options last, chat template when asked, orders share their prefix."""
import os

from transformers import AutoTokenizer

from evaluator.benchmark.items import Item
from evaluator.benchmark.permutations import option_orders
from evaluator.benchmark.prompts import PROMPT_TEMPLATE_VERSION, build_message, build_prompt
from evaluator.benchmark.tasks import get_task

ITEM = Item(id="q1", task="Med-Exam", passage="男，60岁。", question="首选哪项检查？",
            options={"A": "心电图", "B": "胸片", "C": "血常规", "D": "CT", "E": "MRI"}, answer=["A"])


def test_message_layout_options_last():
    task = get_task("Med-Exam")
    message = build_message(task, ITEM, ["C", "A", "E", "B", "D"])
    lines = message.splitlines()
    assert lines[0] == task.instruction
    assert lines[1:3] == ["男，60岁。", "首选哪项检查？"]
    assert lines[3:] == ["A. 血常规", "B. 心电图", "C. MRI", "D. 胸片", "E. CT"]


def test_orders_share_everything_before_the_options(tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["random"])
    task = get_task("Med-Exam")
    prompts = [build_prompt(task, ITEM, p, tokenizer, True) for p in option_orders(list(ITEM.options), 5, 0, "q1")]
    stem_end = prompts[0].index("A. ")
    assert len({p[:stem_end] for p in prompts}) == 1
    assert all(p.startswith("<|im_start|>user\n") and p.endswith("<|im_start|>assistant\n答案：") for p in prompts)
    plain = build_prompt(task, ITEM, list(ITEM.options), tokenizer, False)
    assert "<|im_start|>" not in plain and plain.endswith("E. MRI\n答案：")
    assert PROMPT_TEMPLATE_VERSION


def test_cloze_lists_candidates_in_the_given_order():
    item = Item(id="h1", task="MedHG", question="胸痛三小时。", answer=["心内科"],
                other={"candidates": ["心内科", "骨科", "眼科"]})
    message = build_message(get_task("MedHG"), item, ["眼科", "心内科", "骨科"])
    assert message.endswith("候选项：眼科、心内科、骨科")
    assert os.linesep not in message[-10:]


def test_extraction_prompts_list_the_closed_label_sets() -> None:
    from evaluator.benchmark.items import Item
    from evaluator.benchmark.prompts import build_message
    from evaluator.benchmark.tasks import get_task

    item = Item(id="ie-1", task="CMeIE", question="患者因高血压服用氨氯地平。",
                other={"predicates": ["药物治疗", "临床表现"]})
    message = build_message(get_task("CMeIE"), item, [])
    assert message.splitlines()[-1] == "关系类型：药物治疗、临床表现"
    slots = Item(id="sm-1", task="SMDoc", question="头痛三天。", other={"slots": ["症状", "持续时间"]})
    assert build_message(get_task("SMDoc"), slots, []).endswith("槽位：症状、持续时间")
