"""Judge mode: an organizer-chosen causal LM decides which answer points a stored answer covers, and tags the
hard cases: wrong rows whose rule tag came from a string-matching rule (``evaluator.benchmark.taxonomy.HARD_CASE_RULES``).

Verdicts are read from letter log-probs, not parsed from free text: each question is a two-option (covered /
not covered) or eight-option (error category) choice, and the judge's verdict is its most likely letter. So
every question gets a verdict from any model, deterministically, in one forward pass (the runner's
``letter_scores``), and the prompt text is versioned (``JUDGE_PROMPT_VERSION``).

What is stored, beside the rule figures (never instead of them):

- ``ItemResult.details["judge"]``: ``{"model", "revision", "dtype", "prompt_version", "covered": [bool, ...],
  "recall": float, "primary": category (hard cases only)}``; a point the judge could not answer (its prompt
  exceeds the judge's context) is ``None`` in ``covered`` and left out of ``recall``;
- ``ItemResult.error_primary`` / ``error_tags`` of a hard case: the judge's category with
  ``method = "judge:<model>"`` and the rule tag it replaced under ``error_tags["rule"]`` (the taxonomy applies
  the same precedence when it re-tags a row whose details carry ``judge.primary``);
- ``TaskScore.extras["judge_recall"]`` (mean judge recall over the task's judged items) and
  ``extras["judge"]`` (model, revision, dtype, prompt version, items judged).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluator.benchmark.items import Item
from evaluator.benchmark.prompts import final_prompt
from evaluator.engine.runners import ChoiceRequest, RequestError, Runner, load_runner
from evaluator.benchmark.suites.importer import load_items
from evaluator.tables import DimensionScore, EvalRun, ItemResult, TaskScore
from evaluator.benchmark.tasks import Dimension, Kind, TaskSpec, get_task
from evaluator.benchmark.taxonomy import CATEGORIES, HARD_CASE_RULES
from evaluator.engine.tiny_models import folder_sha

JUDGE_PROMPT_VERSION = "judge-zh-v1"
JUDGED_KINDS = frozenset({Kind.OPEN_ENDED, Kind.RECORD})
MAX_ANSWER_CHARS = 1500  # longer answers are cut for the judge (the stored answer is not)
MAX_CONTEXT_CHARS = 3000  # so is a long case or dialogue
CATEGORY_LABELS_ZH = {
    "Omissions": "遗漏：缺少应有的内容",
    "Hallucination": "幻觉：编造或错误的医学内容",
    "Format Mismatch": "格式不符：未按要求的形式作答",
    "Causal Reasoning Deficiency": "因果推理缺陷：推理得出错误结论",
    "Contextual Inconsistency": "上下文不一致：与病例或自身矛盾",
    "Unanswered": "未作答：空白、拒答或不知道",
    "Output Error": "输出错误：乱码、截断、重复或语言错误",
    "Deficiency in Medical Language Generation": "医学文本生成缺陷：病历不完整或不符合临床书写规范",
}
CATEGORY_LETTERS = [chr(ord("A") + i) for i in range(len(CATEGORIES))]
# A TaskSpec for the judge's own questions: a yes/no kind, so final_prompt opens the answer with "答案：".
_JUDGE_TASK = TaskSpec("judge", Dimension.KNOWLEDGE, Kind.YES_NO, "judge", "", 1)


class JudgeError(ValueError):
    """The judge run cannot start (unknown run, missing model folder); nothing was changed."""


@dataclass
class JudgeReport:
    """What one judge run did: counts, for the caller's log and for tests."""

    model: str
    revision: str
    rows_judged: int
    points_judged: int
    hard_cases_tagged: int


def _answer_text(raw_output: str | None) -> str:
    return (raw_output or "").strip()[:MAX_ANSWER_CHARS] or "（空）"


def point_prompt(item: Item, raw_output: str | None, variants: list[str]) -> str:
    """The user message asking whether the answer covers one answer point (A covered, B not covered)."""
    synonyms = f"（同义表述：{'、'.join(variants[1:])}）" if len(variants) > 1 else ""
    context = f"病例/对话：{item.passage.strip()[:MAX_CONTEXT_CHARS]}\n" if item.passage.strip() else ""
    return (
        "你是医学评测专家。请判断下面的“回答”是否涵盖了“要点”，意思相同即算涵盖。\n"
        f"{context}问题：{item.question.strip()}\n回答：{_answer_text(raw_output)}\n要点：{variants[0]}{synonyms}\n"
        "A. 是，涵盖了该要点\nB. 否，没有涵盖该要点"
    )


def category_prompt(item: Item, raw_output: str | None) -> str:
    """The user message asking for the main error category of a wrong answer (letters A-H)."""
    reference = item.answer if isinstance(item.answer, str) else str(item.answer or "")
    context = f"病例/对话：{item.passage.strip()[:MAX_CONTEXT_CHARS]}\n" if item.passage.strip() else ""
    options = "\n".join(f"{letter}. {CATEGORY_LABELS_ZH[category]}"
                        for letter, category in zip(CATEGORY_LETTERS, CATEGORIES))
    return (
        "你是医学评测专家。下面的回答不完全正确，请选择它的主要错误类型。\n"
        f"{context}问题：{item.question.strip()}\n参考答案：{reference[:MAX_ANSWER_CHARS]}\n"
        f"回答：{_answer_text(raw_output)}\n{options}"
    )


def verdict(scores: dict[str, float], letters: list[str]) -> str:
    """The most likely letter; ties go to the earlier letter (deterministic)."""
    return max(letters, key=lambda letter: (scores.get(letter, float("-inf")), -letters.index(letter)))


def _ask(runner: Runner, messages: list[str], letters: list[str], batch_size: int) -> list[str | None]:
    """The judge's letter for every message; None where the judge could not answer that one (e.g. a prompt
    longer than its context): a failing batch is retried one request at a time so only the culprit is lost."""
    prompts = [final_prompt(message, _JUDGE_TASK, runner.tokenizer, use_chat_template=True) for message in messages]
    answers: list[str | None] = []
    for start in range(0, len(prompts), batch_size):
        batch = [ChoiceRequest(prompt, letters) for prompt in prompts[start:start + batch_size]]
        try:
            answers += [verdict(scores, letters) for scores in runner.letter_scores(batch)]
        except RequestError:
            for request in batch:
                try:
                    answers.append(verdict(runner.letter_scores([request])[0], letters))
                except RequestError:
                    answers.append(None)
    return answers


def _is_hard_case(row: ItemResult) -> bool:
    """A wrong row whose rule tag came from a string-matching rule (or was re-tagged by a judge before)."""
    tags = row.error_tags or {}
    method = (tags.get("rule") or tags).get("method") or ""
    return row.correct is False and method.removeprefix("rule:") in HARD_CASE_RULES


def judge_run(run_id: int, judge_model_path: str | Path, *, engine: Engine | None = None, dtype: str = "auto",
              device: str = "auto", tag_hard_cases: bool = True, batch_size: int = 16,
              runner: Runner | None = None) -> JudgeReport:
    """Judge every scored open-ended and record row of run ``run_id`` with the model at ``judge_model_path``.

    Rule figures stay as they are; judge figures are written beside them (see the module docstring). Re-running
    replaces the earlier judge figures. ``runner`` lets a caller reuse a loaded judge across runs.
    """
    from common.db import get_engine

    engine = engine or get_engine()
    path = Path(judge_model_path)
    if not path.is_dir():
        raise JudgeError(f"judge model folder {str(path)!r} does not exist")
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise JudgeError(f"run {run_id} does not exist")
        items = {row.id: item for row, item in load_items(session, run.suite_id)}
        rows = [row for row in session.exec(select(ItemResult).where(ItemResult.run_id == run_id)
                                            .order_by(ItemResult.id))
                if row.status == "ok" and row.item_id in items
                and get_task(row.task).kind in JUDGED_KINDS and items[row.item_id].scored
                and items[row.item_id].answer_points]
    own_runner = runner is None
    runner = runner or load_runner(str(path), dtype=dtype, device=device)
    try:
        model_name, revision = path.name, folder_sha(path)
        messages, owners = [], []
        for index, row in enumerate(rows):
            for variants in items[row.item_id].answer_points:
                messages.append(point_prompt(items[row.item_id], row.raw_output, variants))
                owners.append(index)
        covered: dict[int, list[bool | None]] = defaultdict(list)
        for index, letter in zip(owners, _ask(runner, messages, ["A", "B"], batch_size)):
            covered[index].append(None if letter is None else letter == "A")
        hard = [i for i, row in enumerate(rows) if tag_hard_cases and _is_hard_case(row)]
        categories = _ask(runner, [category_prompt(items[rows[i].item_id], rows[i].raw_output) for i in hard],
                          CATEGORY_LETTERS, batch_size)
        hard_category = {i: CATEGORIES[CATEGORY_LETTERS.index(letter)]
                         for i, letter in zip(hard, categories) if letter is not None}
    finally:
        if own_runner:
            runner.close()
    stamp = {"model": model_name, "revision": revision, "dtype": dtype, "prompt_version": JUDGE_PROMPT_VERSION}
    _store(engine, run_id, rows, covered, hard_category, stamp)
    return JudgeReport(model_name, revision, len(rows), len(messages), len(hard_category))


def _store(engine: Engine, run_id: int, rows: list[ItemResult], covered: dict[int, list[bool | None]],
           hard_category: dict[int, str], stamp: dict[str, Any]) -> None:
    """Write judge verdicts onto the rows and judge recall onto the task scores, in one transaction."""
    recalls: dict[str, list[float]] = defaultdict(list)
    with Session(engine) as session:
        for index, stored in enumerate(rows):
            row = session.get(ItemResult, stored.id)
            verdicts = covered[index]
            answered = [v for v in verdicts if v is not None]
            judged: dict[str, Any] = {**stamp, "covered": verdicts,
                                      "recall": sum(answered) / len(answered) if answered else None}
            if judged["recall"] is not None:
                recalls[row.task].append(judged["recall"])
            tags = dict(row.error_tags or {})
            rule_tag = tags.get("rule") or {key: tags.get(key) for key in ("primary", "secondary", "method")}
            if index in hard_category:
                judged["primary"] = hard_category[index]
                secondary = [c for c in [rule_tag["primary"], *(rule_tag["secondary"] or [])]
                             if c and c != judged["primary"]]
                tags.update(primary=judged["primary"], secondary=list(dict.fromkeys(secondary)),
                            method=f"judge:{stamp['model']}", rule=rule_tag)
                row.error_primary = judged["primary"]
            row.details = {**(row.details or {}), "judge": judged}
            row.error_tags = tags
            session.add(row)
        for score in session.exec(select(TaskScore).where(TaskScore.run_id == run_id)):
            if score.task in recalls:
                values = recalls[score.task]
                score.extras = {**(score.extras or {}), "judge_recall": fmean(values),
                                "judge": {**stamp, "items": len(values)}}
                session.add(score)
        if hard_category:
            session.flush()
            _recount_errors(session, run_id)
        session.commit()


def _recount_errors(session: Session, run_id: int) -> None:
    """Re-tagged rows move between categories: refresh the dimension and overall error counts."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for dimension, primary in session.exec(select(ItemResult.dimension, ItemResult.error_primary)
                                           .where(ItemResult.run_id == run_id)):
        if primary:
            counts[dimension][primary] += 1
            counts["overall"][primary] += 1
    for score in session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)):
        score.extras = {**(score.extras or {}), "error_counts": dict(counts[score.dimension])}
        session.add(score)
