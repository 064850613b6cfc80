"""Lenient parsing of generated text into the structures the text metrics compare.

Models rarely follow a format to the letter, so every parser here accepts the usual variants: full-width or
half-width colons and bars, numbering (``1.``, ``1、``, ``(1)``, ``①``), bullets (``-``, ``*``, ``•``), Markdown
bold (``**主诉**``) and brackets (``【主诉】``), and ``、``/``，``/``；`` separated lists where one line holds several
values. Parsers return what they could read plus what they could not (``unparsed``), so that the error taxonomy
can tell "no parsable answer" (Format Mismatch) from "parsed but wrong".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from evaluator.benchmark.scoring.normalize import normalize
from evaluator.benchmark.tasks import TASKS, TaskSpec, get_task

_LINE_PREFIX = re.compile(
    r"^\s*(?:[-*•·●◦]+\s*|\d{1,3}(?:[.．](?!\d)|[)、])\s*|[（(]\d{1,3}[）)]\s*|[①-⑳]\s*|[a-zA-Z][.)]\s+)*"
)
_MARKUP = re.compile(r"\*\*|__|`")
_NONE_ANSWERS = {"无", "没有", "无实体", "暂无", "none", "null", "na", "没有实体", "不存在"}
_LIST_SEPARATORS = re.compile(r"[、，,；;]|##")
_COLON = re.compile(r"\s*[:：]\s*")
_BAR = re.compile(r"\s*[|｜]\s*")



@dataclass
class Parsed:
    """What a parser read: ``values`` (task-specific), ``unparsed`` lines it could not read, ``said_none`` when the
    model explicitly answered that there is nothing (``无``)."""

    values: list = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    said_none: bool = False

    @property
    def format_ok(self) -> bool:
        """An answer in the required form exists: something parsed, or an explicit 'nothing'."""
        return bool(self.values) or self.said_none


def clean_lines(text: str | None) -> list[str]:
    """Non-empty lines with numbering, bullets and Markdown emphasis removed."""
    lines = []
    for raw_line in (text or "").splitlines():
        line = _LINE_PREFIX.sub("", _MARKUP.sub("", raw_line)).strip()
        if line:
            lines.append(line)
    return lines


def _strip_answer_label(line: str) -> str:
    """``答案：糖尿病：疾病`` -> ``糖尿病：疾病`` (models often echo the word 答案 or 输出)."""
    return re.sub(r"^(?:答案|输出|结果|回答)\s*[:：]\s*", "", line)


def parse_extraction(task: str, text: str | None) -> Parsed:
    """Tuples of normalised field values for an extraction task (``TaskSpec.fields`` order). A line that is any
    extraction task's header (``TaskSpec.field_labels``, copied from an instruction) is never an answer."""
    spec = get_task(task)
    fields = spec.fields
    headers = {other.field_labels for other in TASKS.values() if other.field_labels}
    parsed = Parsed()
    seen: set[tuple[str, ...]] = set()
    for line in clean_lines(text):
        line = _strip_answer_label(line)
        if not line:
            continue
        if normalize(line) in _NONE_ANSWERS:
            parsed.said_none = True
            continue
        tuples = _line_tuples(spec, line, len(fields))
        if not tuples:
            parsed.unparsed.append(line)
            continue
        for values in tuples:
            if values in headers or values in seen:
                continue
            seen.add(values)
            parsed.values.append(values)
    return parsed


def _line_tuples(spec: TaskSpec, line: str, width: int) -> list[tuple[str, ...]]:
    """The tuples one line holds (raw text, not yet normalised), or [] when the line is not in the format."""
    if width == 1:
        return [(part.strip(),) for part in _LIST_SEPARATORS.split(line) if part.strip()]
    if spec.separator == "：":
        parts = _COLON.split(line, maxsplit=1)
        if len(parts) != 2:
            bracketed = re.fullmatch(r"(.+?)\s*[（(](.+?)[）)]", line)  # 糖尿病（疾病）
            parts = list(bracketed.groups()) if bracketed else parts
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            return []
        return [(parts[0].strip(), value.strip()) for value in _LIST_SEPARATORS.split(parts[1]) if value.strip()]
    if not _BAR.search(line):
        return []
    parts = [part.strip() for part in _BAR.split(line.strip())]
    if line.strip()[:1] in "|｜":  # Markdown table row: | a | b |
        parts = parts[1:-1] if parts[-1] == "" else parts[1:]
    while len(parts) > width and parts[-1] == "":  # trailing empty fields: 低热|||
        parts.pop()
    if len(parts) > width or not parts or not parts[0]:
        return []
    parts += [""] * (width - len(parts))
    return [tuple(parts)]


def normalize_tuple(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A tuple compared on content: every field normalised; placeholders for 'none' become ''."""
    return tuple("" if normalize(value) in _NONE_ANSWERS else normalize(value) for value in values)


def gold_tuples(task: str, answer: list[dict]) -> set[tuple[str, ...]]:
    """Normalised tuples of a gold extraction answer (list of dicts with ``TaskSpec.fields`` keys)."""
    fields = get_task(task).fields
    return {normalize_tuple([str(entry.get(name) or "") for name in fields]) for entry in answer}


_FIELD_HEADER = re.compile(r"^[【\[]?\s*(?P<name>[^:：【】\[\]]{1,8}?)\s*(?:[】\]]\s*[:：]?|[:：])\s*(?P<rest>.*)$")


def parse_record(text: str | None, field_names: list[str]) -> dict[str, str]:
    """Field name -> text for a record written as ``字段：内容`` lines; a field's text may run over several lines
    until the next known field header. Only ``field_names`` are recognised (after normalisation)."""
    wanted = {normalize(name): name for name in field_names}
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in clean_lines(text):
        match = _FIELD_HEADER.match(line)
        name = wanted.get(normalize(match.group("name"))) if match else None
        if name is not None:
            current = name
            fields.setdefault(name, []).append(match.group("rest").strip())
        elif current is not None:
            fields[current].append(line)
    return {name: "\n".join(part for part in parts if part) for name, parts in fields.items()}


def find_label(text: str | None, candidates: list[str]) -> str | None:
    """The candidate label the output names: an exact (normalised) match first, else the longest candidate the
    output contains, else None. Longest-first stops ``Disease`` from matching inside ``Multiple Disease``."""
    output = normalize(text)
    if not output:
        return None
    by_form = {normalize(label): label for label in candidates}
    if output in by_form:
        return by_form[output]
    for form in sorted(by_form, key=len, reverse=True):
        if form and form in output:
            return by_form[form]
    return None
