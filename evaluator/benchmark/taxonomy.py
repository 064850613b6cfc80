"""The automatic error taxonomy: every wrong or incomplete (item, order) gets one primary category of the paper's
eight, and may get secondary ones, by the documented rules below.

How a tag is made: every rule is checked in the order of ``RULES``; the first rule that matches gives the
primary category and names the method (``"rule:<rule name>"``); the categories of the other matching rules
become the secondary tags. Correct rows get no tag (``rule:correct``). Rows without a verdict (no reference
answer) are checked with the surface rules 1-6 only (``rule:unscored`` when none matches). A wrong row that no
rule matches gets the kind's default (Omissions for open-ended answers and records, Hallucination otherwise)
with method ``rule:fallback``.

Hard cases: tags from ``fallback`` and from the rules that approximate meaning by string matching
(``wrong_conclusion``, ``unsupported_content``, ``uncovered_points``, see ``HARD_CASE_RULES``) may be decided by
a judge model (:mod:`evaluator.engine.judge`). When the row's details carry the judge's category
(``details["judge"]["primary"]``) that category is the primary tag, with method ``judge:<model>``, the rule's
category among the secondary tags and the whole rule tag kept under ``"rule"``.

The rules, in checking order, are ``RULES``; each says what triggers it (``Rule.trigger``), which the
Methodology page shows as a table.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaluator.benchmark.scoring import output_checks
from evaluator.benchmark.scoring.normalize import normalize
from evaluator.benchmark.tasks import CHOICE_KINDS, Dimension, Kind

if TYPE_CHECKING:
    from evaluator.benchmark.items import Item
    from evaluator.benchmark.scoring.base import ItemOutcome
    from evaluator.benchmark.tasks import TaskSpec

OMISSIONS = "Omissions"
HALLUCINATION = "Hallucination"
FORMAT_MISMATCH = "Format Mismatch"
CAUSAL = "Causal Reasoning Deficiency"
CONTEXTUAL = "Contextual Inconsistency"
UNANSWERED = "Unanswered"
OUTPUT_ERROR = "Output Error"
GENERATION = "Deficiency in Medical Language Generation"
CATEGORIES: tuple[str, ...] = (OMISSIONS, HALLUCINATION, FORMAT_MISMATCH, CAUSAL, CONTEXTUAL, UNANSWERED,
                               OUTPUT_ERROR, GENERATION)

SUPPORT_MIN_SHARE = 0.25  # unsupported_content: share of output bigrams found in the sources
SUPPORT_MIN_BIGRAMS = 10  # ... judged only on outputs with this many bigrams
COLLOQUIAL_MARKERS = ("我", "你", "您", "吧", "呢", "啊", "哦", "嗯", "呀", "哈", "啦")
COLLOQUIAL_MIN_MARKS = 3
FREE_TEXT_KINDS = frozenset({Kind.OPEN_ENDED, Kind.RECORD})
# Rules that approximate meaning by string matching: their tags are the "hard cases" a judge model may re-tag.
HARD_CASE_RULES = frozenset({"fallback", "wrong_conclusion", "unsupported_content", "uncovered_points"})
CLOSED_PICK_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.CLOZE, Kind.CLASSIFICATION})


@dataclass(frozen=True)
class Case:
    """One (item, order) under judgement, with the outcomes of all orders of its item."""

    task: "TaskSpec"
    item: "Item"
    outcome: "ItemOutcome"
    raw: str | None
    orders: list["ItemOutcome"]

    @property
    def details(self) -> dict[str, Any]:
        return self.outcome.details or {}

    @property
    def sources(self) -> str:
        """Everything the answer may legitimately draw on, normalised."""
        answer = self.item.answer
        if isinstance(answer, dict):
            reference = " ".join(map(str, answer.values()))
        else:
            reference = answer if isinstance(answer, str) else ""
        points = " ".join(" ".join(variants) for variants in self.item.answer_points)
        options = " ".join(self.item.options.values())
        return normalize(" ".join([self.item.passage, self.item.question, reference, points, options]))


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    matches: Callable[[Case], bool]
    trigger: str  # what makes it match, in words (the Methodology page's rules table)
    surface: bool = False  # applies to rows without a verdict too


def _choice_set(parsed: Any) -> frozenset[str] | None:
    """A choice answer as a set of original option keys (a string "B" or a list ["A", "C"]); None if absent."""
    if parsed is None or parsed == "" or parsed == []:
        return None
    return frozenset([parsed] if isinstance(parsed, str) else map(str, parsed))


def _gold_set(case: Case) -> frozenset[str]:
    return _choice_set(case.item.answer) or frozenset()


def _extraction(case: Case) -> str | None:
    """The answer extractor's verdict on a generated choice or cloze answer (``answer`` or why there is none);
    None for rows it did not read (letter log-prob scoring, other kinds)."""
    return case.details.get("extraction")


def _no_parsable_answer(case: Case) -> bool:
    if case.task.kind in CHOICE_KINDS | {Kind.CLOZE}:
        return _extraction(case) == "several_answers"
    return case.details.get("format_ok") is False


def _no_answer(case: Case) -> bool:
    return _extraction(case) == "no_answer" and not case.details.get("invalid_letters")


def _order_dependent(case: Case) -> bool:
    answers = {_choice_set(o.parsed_answer) for o in case.orders} - {None}
    return case.task.kind in CHOICE_KINDS | {Kind.CLOZE} and len(answers) > 1


_SEX_PATTERNS = (r"患者[，,、:：\s]*(男|女)", r"(男|女)性?[，,、\s]*\d{1,3}\s*岁", r"\d{1,3}\s*岁\s*(男|女)",
                 r"(男|女)性患者", r"该(男|女)")
_AGE_PATTERNS = (r"(?:男|女)性?[，,、\s]*(\d{1,3})\s*岁", r"患者[，,、\s]*(?:男|女)?性?[，,、\s]*(\d{1,3})\s*岁")


def _stated(text: str, patterns: tuple[str, ...]) -> str | None:
    """The one value ``text`` states by these patterns, or None when it states none or several."""
    found = {m.group(1) for pattern in patterns for m in re.finditer(pattern, text)}
    return found.pop() if len(found) == 1 else None


def _contradicts_case(case: Case) -> bool:
    if case.task.kind not in FREE_TEXT_KINDS or not case.raw:
        return False
    given = f"{case.item.passage}\n{case.item.question}"
    for patterns in (_SEX_PATTERNS, _AGE_PATTERNS):
        in_case, in_output = _stated(given, patterns), _stated(case.raw, patterns)
        if in_case and in_output and in_case != in_output:
            return True
    return False


def _missing_record_fields(case: Case) -> bool:
    return case.task.kind == Kind.RECORD and bool(case.details.get("missing_fields"))


def _wrong_conclusion(case: Case) -> bool:
    if case.task.dimension != Dimension.REASONING:
        return False
    if case.task.kind in CHOICE_KINDS:
        chosen = _choice_set(case.outcome.parsed_answer)
        return chosen is not None and not chosen & _gold_set(case)
    covered = case.details.get("covered") or []
    conclusion = case.item.other.get("conclusion_points", [0])
    return bool(covered) and any(0 <= i < len(covered) and not covered[i] for i in conclusion)


def _extra_options(case: Case) -> bool:
    if case.task.kind not in CHOICE_KINDS:
        return False
    if case.details.get("invalid_letters"):  # letters beyond those shown (the choice parser reports them)
        return True
    chosen = _choice_set(case.outcome.parsed_answer)
    if chosen is None:
        return False
    if chosen - set(case.item.options):
        return True
    return case.task.kind == Kind.MULTI_CHOICE and bool(chosen - _gold_set(case))


def _invented_span(case: Case) -> bool:
    positions = case.task.span_fields  # fields that must be copied from the text (not CHIP-CDN's standard terms)
    if case.task.kind != Kind.EXTRACTION or not positions:
        return False
    text = normalize(f"{case.item.passage}\n{case.item.question}")
    return any(values[i] and values[i] not in text for values in case.details.get("spurious") or []
               for i in positions if i < len(values))


def _bigrams(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


def _unsupported_content(case: Case) -> bool:
    if case.task.kind not in FREE_TEXT_KINDS:
        return False
    grams = _bigrams(normalize(case.raw))
    if len(grams) < SUPPORT_MIN_BIGRAMS:
        return False
    sources = set(_bigrams(case.sources))
    return sum(gram in sources for gram in grams) / len(grams) < SUPPORT_MIN_SHARE


def _non_clinical_style(case: Case) -> bool:
    if case.task.kind != Kind.RECORD or not case.raw:
        return False
    return sum(case.raw.count(marker) for marker in COLLOQUIAL_MARKERS) >= COLLOQUIAL_MIN_MARKS


def _too_few_options(case: Case) -> bool:
    chosen = _choice_set(case.outcome.parsed_answer)
    return case.task.kind == Kind.MULTI_CHOICE and chosen is not None and bool(_gold_set(case) - chosen)


def _uncovered_points(case: Case) -> bool:
    if case.task.kind == Kind.EXTRACTION:
        return (case.details.get("fn") or 0) > 0
    return case.task.kind in FREE_TEXT_KINDS and not all(case.details.get("covered") or [True])


def _wrong_label(case: Case) -> bool:
    if case.task.kind == Kind.EXTRACTION:
        return (case.details.get("fp") or 0) > 0
    return case.task.kind in CLOSED_PICK_KINDS and case.outcome.parsed_answer not in (None, "", [])


def _refusal(case: Case) -> bool:
    """A declining output; an answer that parsed (e.g. a CHIP-CDEE event whose state is 不确定) is no refusal.
    Generated choice answers: the extractor's verdict (a refusal with no answer, at any length)."""
    if _extraction(case) is not None:
        return _extraction(case) == "refusal"
    parsed = case.outcome.parsed_answer not in (None, "", [], {})
    return output_checks.is_refusal(case.raw) and not (parsed and case.details.get("format_ok", True))


def _reasoning_unclosed(case: Case) -> bool:
    """A reasoning model that never closed its reasoning within the budget: no answer text exists at all."""
    return case.details.get("reasoning") == "unclosed"


def _truncated(case: Case) -> bool:
    if _extraction(case) == "truncated" or _reasoning_unclosed(case):
        return True
    finish_reason = case.details.get("finish_reason")
    if finish_reason is None and case.task.kind not in FREE_TEXT_KINDS:
        return False
    return output_checks.is_truncated(case.raw, case.task.max_new_tokens, finish_reason)


RULES: tuple[Rule, ...] = (
    Rule("empty_output", UNANSWERED,
         lambda c: not _reasoning_unclosed(c) and (output_checks.is_empty(c.raw) or _extraction(c) == "empty"),
         "the output is empty or whitespace (for a reasoning model: nothing after its reasoning)", surface=True),
    Rule("refusal", UNANSWERED, _refusal,
         ("an output that declines (抱歉, 无法回答, 不知道, 作为AI…请咨询医生) and holds no answer; outside choice "
          "answers only short outputs count"), surface=True),
    Rule("garbled", OUTPUT_ERROR, lambda c: output_checks.is_garbled(c.raw),
         "broken characters, control characters, unexpected scripts", surface=True),
    Rule("repetitive", OUTPUT_ERROR, lambda c: output_checks.is_repetitive(c.raw),
         "a unit repeated 5+ times in a row, or few distinct 4-grams", surface=True),
    Rule("wrong_language", OUTPUT_ERROR, lambda c: output_checks.is_wrong_language(c.raw),
         "a Chinese task answered mostly in Latin script", surface=True),
    Rule("truncated", OUTPUT_ERROR, _truncated,
         ("cut at the length limit (runner's finish reason, else an open-ended/record output near "
          "max_new_tokens without a sentence end), or reasoning never closed and no answer given first"),
         surface=True),
    Rule("no_parsable_answer", FORMAT_MISMATCH, _no_parsable_answer,
         ("an answer exists but not in the required form: several picks for a single-choice, yes/no or cloze "
          "item; no candidate label, no 实体：类型 line, no field")),
    Rule("no_answer", UNANSWERED, _no_answer,
         "a generated choice or cloze answer in which the extractor finds no pick (no letter, option or candidate)",
         surface=True),
    Rule("order_dependent_answer", CONTEXTUAL, _order_dependent,
         "a choice or cloze item's mapped-back answer differs between orders"),
    Rule("contradicts_case", CONTEXTUAL, _contradicts_case,
         "the output states a sex or age other than the case's"),
    Rule("missing_record_fields", GENERATION, _missing_record_fields,
         "a record lacks required fields"),
    Rule("wrong_conclusion", CAUSAL, _wrong_conclusion,
         ("reasoning-dimension task: none of the chosen options is correct, or the conclusion point "
          "(other.conclusion_points, default the first answer point) is not covered")),
    Rule("extra_options", HALLUCINATION, _extra_options,
         "options chosen that are wrong or not among those shown"),
    Rule("invented_span", HALLUCINATION, _invented_span,
         "an extracted entity/value that does not occur in the source text"),
    Rule("unsupported_content", HALLUCINATION, _unsupported_content,
         ("an open answer or record whose character bigrams are mostly (< 25% supported) absent from the "
          "question, case, reference and points")),
    Rule("non_clinical_style", GENERATION, _non_clinical_style,
         "a record in colloquial style (first/second person, chat particles)"),
    Rule("too_few_options", OMISSIONS, _too_few_options,
         "a multi-choice answer missing correct options"),
    Rule("uncovered_points", OMISSIONS, _uncovered_points,
         "answer points not covered (open, record); gold tuples missed (extraction)"),
    Rule("wrong_label", HALLUCINATION, _wrong_label,
         ("a wrong pick from a closed list (single choice, yes/no, cloze, classification) or wrongly labelled "
          "extraction tuples")),
)


# How the tags not made by one of RULES come about, in words (the Tag review page shows them beside a tag).
OTHER_METHODS: dict[str, str] = {
    "fallback": "a wrong answer that no rule matched: the kind's default category (Omissions for open answers "
                "and records, Hallucination otherwise)",
    "correct": "a correct answer: no tag",
    "unscored": "no reference answer and no surface rule matched: no tag",
}


def describe_method(method: str | None) -> str:
    """How a tag was made, in words: a rule's trigger, the fallback, or a judge model's re-tag of a hard case."""
    if not method:
        return "unknown: the tag does not say how it was made"
    family, _, name = method.partition(":")
    if family == "judge":
        return (f"judge model {name or '?'} re-tagged a hard case (a rule that approximates meaning by string "
                "matching, or the fallback); the rule's tag is kept as a secondary tag")
    rule = next((r for r in RULES if r.name == name), None)
    if family == "rule" and rule is not None:
        return f"{rule.trigger} (rule {rule.name} → {rule.category})"
    return OTHER_METHODS.get(name, f"unknown method {method}")


def tag(case: Case) -> dict[str, Any]:
    """The tag of one (item, order): primary category, secondary categories, method, and the rules that matched."""
    verdict = case.outcome.correct
    if verdict is True:
        return {"primary": None, "secondary": [], "method": "rule:correct", "rules": []}
    matched = [rule for rule in RULES if (rule.surface or verdict is False) and rule.matches(case)]
    if not matched:
        if verdict is None:
            return {"primary": None, "secondary": [], "method": "rule:unscored", "rules": []}
        default = OMISSIONS if case.task.kind in FREE_TEXT_KINDS else HALLUCINATION
        return _with_judge(case, {"primary": default, "secondary": [], "method": "rule:fallback", "rules": []})
    primary = matched[0].category
    secondary = list(dict.fromkeys(rule.category for rule in matched[1:] if rule.category != primary))
    return _with_judge(case, {"primary": primary, "secondary": secondary, "method": f"rule:{matched[0].name}",
                              "rules": [rule.name for rule in matched]})


def _with_judge(case: Case, ruled: dict[str, Any]) -> dict[str, Any]:
    """A hard case's tag becomes the judge's category when the row carries one; the rule tag is kept."""
    judged = case.details.get("judge") or {}
    if ruled["method"].removeprefix("rule:") not in HARD_CASE_RULES or judged.get("primary") not in CATEGORIES:
        return ruled
    secondary = [c for c in [ruled["primary"], *ruled["secondary"]] if c != judged["primary"]]
    return {**ruled, "primary": judged["primary"], "secondary": list(dict.fromkeys(secondary)),
            "method": f"judge:{judged.get('model')}",
            "rule": {key: ruled[key] for key in ("primary", "secondary", "method")}}


def tag_item(task: "TaskSpec", item: "Item", outcomes: list["ItemOutcome"],
             raw_outputs: list[str | None]) -> list[dict[str, Any]]:
    """Tags for every order of one item (``outcomes[i]`` and ``raw_outputs[i]`` belong to order i)."""
    if len(outcomes) != len(raw_outputs):
        raise ValueError(f"item {item.id}: {len(outcomes)} outcomes but {len(raw_outputs)} raw outputs")
    return [tag(Case(task, item, outcome, raw, list(outcomes))) for outcome, raw in zip(outcomes, raw_outputs)]
