"""Metrics of the generative tasks: open-ended answers, extraction, classification and medical records.

- ``answer_point_recall`` (MedHC, MedMC, MedSpeQA, MedDG, CMB-Clin, MedTreat): item score = share of the item's
  answer points covered (see :mod:`evaluator.benchmark.scoring.points`); task score = mean over items (macro-recall).
  ``correct`` = every point covered. ROUGE-L on characters against the reference text is the secondary figure.
  Items without answer points get ROUGE-L only (score None).
- ``micro_f1`` (CMeEE, CMeIE, CHIP-CDEE, SMDoc, CHIP-CDN): the output is parsed into tuples
  (:mod:`evaluator.benchmark.scoring.parse`), each field normalised; a predicted tuple is a true positive when it equals a
  gold tuple exactly. Item details hold tp/fp/fn; the task score is F1 over the summed counts of all items.
- ``macro_f1`` (CHIP-CTC): the output names one label of ``item.other["candidates"]``; task score = unweighted
  mean of per-label F1 over every label that is gold or predicted somewhere in the task.
- ``field_f1`` (IMCS-V2-MRG, DBMHG), this project's definition: the record is parsed into ``字段：内容`` fields;
  each field of the reference scores the ROUGE-L F-measure on characters between the model's text for that
  field and the reference text (0 when the field is missing); the item score is the mean over the reference's
  fields and the task score the mean over items. Answer-point recall over the whole record is stored beside it
  (``details["point_recall"]``, ``extras["point_recall"]``).

Every metric also offers ``extras(groups) -> dict``: the secondary figures for ``TaskScore.extras``; for
answer-point tasks that includes ``judge_recall`` when rows carry judge verdicts (``details["judge"]``).
"""
from __future__ import annotations

from statistics import fmean
from typing import TYPE_CHECKING, Any

from evaluator.benchmark.scoring.base import ItemOutcome, register_metric
from evaluator.benchmark.scoring.parse import (
    find_label,
    gold_tuples,
    normalize_tuple,
    parse_extraction,
    parse_record,
)
from evaluator.benchmark.scoring.points import covered_points, recall
from evaluator.benchmark.scoring.rouge import rouge_l

if TYPE_CHECKING:
    from evaluator.benchmark.items import Item
    from evaluator.benchmark.tasks import TaskSpec

def _scored(groups: list[list[ItemOutcome]]) -> list[ItemOutcome]:
    return [outcome for group in groups for outcome in group if outcome.score is not None]


def _mean_detail(groups: list[list[ItemOutcome]], key: str) -> float | None:
    values = [o.details[key] for group in groups for o in group if o.details.get(key) is not None]
    return fmean(values) if values else None


def _judge_recall(groups: list[list[ItemOutcome]]) -> dict[str, Any]:
    """``judge_recall`` where a judge model has judged the items (``details["judge"]["recall"]``)."""
    values = [o.details["judge"]["recall"] for group in groups for o in group
              if isinstance(o.details.get("judge"), dict) and o.details["judge"].get("recall") is not None]
    return {"judge_recall": fmean(values)} if values else {}


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 from counts; 1.0 when there was nothing to find and nothing was predicted."""
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


class AnswerPointRecall:
    name = "answer_point_recall"
    formula = ("macro-recall: mean over questions of (answer points covered) / (answer points); a point is covered "
               "when the normalised answer contains it or a synonym (full/half width, punctuation, "
               "traditional/simplified, 2型/二型/II型 folded); character ROUGE-L beside it, and a judge model's recall "
               "where one is used")

    def score(self, task: "TaskSpec", item: "Item", raw_output: str | None,
              letter_scores: dict[str, float] | None, permutation: list[str] | None) -> ItemOutcome:
        reference = item.answer if isinstance(item.answer, str) else None
        details: dict[str, Any] = {"rouge_l": rouge_l(raw_output, reference) if reference else None,
                                   "format_ok": True}
        if not item.scored or not item.answer_points:
            return ItemOutcome(details={**details, "n_points": 0})
        covered = covered_points(raw_output, item.answer_points)
        item_recall = recall(covered)
        details.update(covered=covered, n_points=len(covered), n_covered=sum(covered))
        return ItemOutcome(correct=all(covered), score=item_recall, details=details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        scored = _scored(groups)
        return fmean(o.score for o in scored) if scored else None

    def extras(self, groups: list[list[ItemOutcome]]) -> dict[str, Any]:
        return {"rouge_l": _mean_detail(groups, "rouge_l"), **_judge_recall(groups)}


class MicroF1:
    name = "micro_f1"
    formula = ("micro-F1 over all extracted tuples of the task: 2·TP / (2·TP + FP + FN), a tuple counting when every "
               "normalised field equals a gold tuple's")

    def score(self, task: "TaskSpec", item: "Item", raw_output: str | None,
              letter_scores: dict[str, float] | None, permutation: list[str] | None) -> ItemOutcome:
        if not task.fields:
            raise ValueError(f"micro_f1 has no output format for task {task.name!r}: it has no TaskSpec.fields")
        parsed = parse_extraction(task.name, raw_output)
        answer = [list(values) for values in parsed.values]
        details: dict[str, Any] = {"format_ok": parsed.format_ok, "unparsed_lines": len(parsed.unparsed)}
        if not item.scored:
            return ItemOutcome(parsed_answer=answer, details=details)
        if not isinstance(item.answer, list) or not all(isinstance(e, dict) for e in item.answer):
            raise ValueError(f"{task.name} item {item.id}: answer must be a list of objects with fields "
                             f"{', '.join(task.fields)}")
        gold = gold_tuples(task.name, item.answer)
        predicted = {normalize_tuple(values) for values in parsed.values}
        tp, fp, fn = len(predicted & gold), len(predicted - gold), len(gold - predicted)
        details.update(tp=tp, fp=fp, fn=fn, missed=sorted(map(list, gold - predicted)),
                       spurious=sorted(map(list, predicted - gold)))
        return ItemOutcome(parsed_answer=answer, correct=fp == 0 and fn == 0, score=f1(tp, fp, fn), details=details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        scored = _scored(groups)
        if not scored:
            return None
        return f1(*(sum(o.details[key] for o in scored) for key in ("tp", "fp", "fn")))

    def extras(self, groups: list[list[ItemOutcome]]) -> dict[str, Any]:
        scored = _scored(groups)
        return {key: sum(o.details[key] for o in scored) for key in ("tp", "fp", "fn")}


class MacroF1:
    name = "macro_f1"
    formula = "macro-F1: unweighted mean of per-label F1 over every label that is gold or predicted in the task"

    def score(self, task: "TaskSpec", item: "Item", raw_output: str | None,
              letter_scores: dict[str, float] | None, permutation: list[str] | None) -> ItemOutcome:
        candidates = item.other.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            raise ValueError(f"{task.name} item {item.id}: other.candidates must list the label set")
        label = find_label(raw_output, [str(c) for c in candidates])
        details: dict[str, Any] = {"format_ok": label is not None, "pred": label}
        if not item.scored:
            return ItemOutcome(parsed_answer=label, details=details)
        gold = str(item.answer)
        details["gold"] = gold
        return ItemOutcome(parsed_answer=label, correct=label == gold, score=float(label == gold), details=details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        scored = _scored(groups)
        if not scored:
            return None
        pairs = [(o.details["gold"], o.details["pred"]) for o in scored]
        labels = {gold for gold, _ in pairs} | {pred for _, pred in pairs if pred is not None}
        per_label = []
        for label in sorted(labels):
            tp = sum(1 for gold, pred in pairs if gold == label and pred == label)
            fp = sum(1 for gold, pred in pairs if gold != label and pred == label)
            fn = sum(1 for gold, pred in pairs if gold == label and pred != label)
            per_label.append(f1(tp, fp, fn))
        return fmean(per_label)

    def extras(self, groups: list[list[ItemOutcome]]) -> dict[str, Any]:
        scored = _scored(groups)
        return {"accuracy": fmean(o.score for o in scored) if scored else None}


class FieldF1:
    name = "field_f1"
    formula = ("mean over the reference record's fields of the character ROUGE-L F-measure (LCS-based F1) between "
               "the model's text for that field and the reference's, 0 for a missing field; answer-point recall over "
               "the whole record beside it")

    def score(self, task: "TaskSpec", item: "Item", raw_output: str | None,
              letter_scores: dict[str, float] | None, permutation: list[str] | None) -> ItemOutcome:
        if item.scored and not isinstance(item.answer, dict):
            raise ValueError(f"{task.name} item {item.id}: answer must be an object field -> reference text")
        names = list(item.answer) if item.scored else list(task.fields)
        fields = parse_record(raw_output, names)
        missing = [name for name in names if not fields.get(name, "").strip()]
        details: dict[str, Any] = {"format_ok": bool(fields), "missing_fields": missing,
                                   "required_fields": names}
        if not item.scored:
            return ItemOutcome(parsed_answer=fields, details=details)
        per_field = {name: rouge_l(fields.get(name), str(item.answer[name] or "")) for name in names}
        covered = covered_points(raw_output, item.answer_points)
        details.update(fields=per_field, covered=covered, point_recall=recall(covered),
                       rouge_l=rouge_l(raw_output, "\n".join(str(v or "") for v in item.answer.values())))
        score = fmean(per_field.values()) if per_field else None
        complete = not missing and (all(covered) if covered else score == 1.0)
        return ItemOutcome(parsed_answer=fields, correct=complete, score=score, details=details)

    def aggregate(self, groups: list[list[ItemOutcome]]) -> float | None:
        scored = _scored(groups)
        return fmean(o.score for o in scored) if scored else None

    def extras(self, groups: list[list[ItemOutcome]]) -> dict[str, Any]:
        return {"rouge_l": _mean_detail(groups, "rouge_l"), "point_recall": _mean_detail(groups, "point_recall"),
                **_judge_recall(groups)}


for _metric in (AnswerPointRecall(), MicroF1(), MacroF1(), FieldF1()):
    register_metric(_metric)
