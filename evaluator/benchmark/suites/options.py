"""Parse answer options that are baked into a question's text, so that they can be permuted.

Released MedBench files often put the options inside ``question`` ("…下列哪项正确？\\nA. 高血压\\nB. 糖尿病…").
The evaluator re-asks every choice item under K option orders, so it needs the stem and the options apart.

Layouts recognised (one per line or inline, ASCII or full-width letters A–I):
``A. x``, ``A．x``, ``A：x``, ``A:x``, ``A、x``, ``A) x``, ``A）x``, ``(A) x``, ``（A）x``, ``[A] x``, ``【A】x``,
``Ａ．x``. A run of markers must start at A and go on B, C, … without gaps; the longest run wins and, between
equally long runs, the last one (options come after the stem). Markers at line starts are tried first, then
markers after a space or punctuation, then markers glued to the previous character ("…正确的是A.高血压B.糖尿病").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

OPTION_LETTERS = "ABCDEFGHI"  # DDx-advanced has up to nine options
_LETTER = r"[A-IＡ-Ｉ]"
_BRACKETED = rf"[\(（\[【]\s*(?P<b>{_LETTER})\s*[\)）\]】]\s*[\.．、:：]?"
_PLAIN = rf"(?P<p>{_LETTER})\s*[\.．、:：\)）]"
_MARKER = rf"(?:{_BRACKETED}|{_PLAIN})[ \t\u3000]*"

# Tried in order: the first that yields a run of at least two options is used.
_PATTERNS = (
    re.compile(rf"(?m)^[ \t\u3000]*{_MARKER}"),  # one option per line
    re.compile(rf"(?:(?<=^)|(?<=[\s，。；;,？?！!：:]))(?:{_MARKER})"),  # inline, after a space or punctuation
    re.compile(rf"(?<![A-Za-z0-9Ａ-Ｚａ-ｚ０-９])(?:{_MARKER})"),  # inline, glued to the stem or previous option
)
_STEM_LABEL_TAIL = re.compile(r"(?:选项|备选答案|答案选项)\s*[:：]?\s*$")
_TRAILING_SEPARATORS = " \t\u3000；;，,"


@dataclass(frozen=True)
class SplitQuestion:
    """A question text taken apart: the stem, the options in order, and any text after the options."""

    stem: str
    options: dict[str, str]
    tail: str = ""


def normalize_letter(letter: str) -> str:
    """Full-width Ａ becomes A; anything else is upper-cased."""
    return unicodedata.normalize("NFKC", letter).upper()


def _letter_of(match: re.Match[str]) -> str:
    return normalize_letter(match.group("b") or match.group("p"))


def _longest_run(marks: list[re.Match[str]]) -> list[re.Match[str]]:
    """The longest sequence of markers lettered A, B, C, … in text order (ties: the last one)."""
    best: list[re.Match[str]] = []
    for start, mark in enumerate(marks):
        if _letter_of(mark) != "A":
            continue
        run = [mark]
        for later in marks[start + 1:]:
            if len(run) == len(OPTION_LETTERS):
                break
            if _letter_of(later) == OPTION_LETTERS[len(run)]:
                run.append(later)
        if len(run) >= len(best):
            best = run
    return best


def split_options(text: str) -> SplitQuestion | None:
    """Split ``text`` into stem, options and tail; None when it holds no run of at least two options."""
    for pattern in _PATTERNS:
        run = _longest_run(list(pattern.finditer(text)))
        if len(run) >= 2:
            return _cut(text, run)
    return None


def _cut(text: str, run: list[re.Match[str]]) -> SplitQuestion:
    stem = _STEM_LABEL_TAIL.sub("", text[: run[0].start()].rstrip()).rstrip()
    options: dict[str, str] = {}
    for index, mark in enumerate(run):
        end = run[index + 1].start() if index + 1 < len(run) else len(text)
        options[OPTION_LETTERS[index]] = text[mark.end(): end]
    last = OPTION_LETTERS[len(run) - 1]
    last_text, _, tail = options[last].partition("\n")  # the last option ends with its line
    options[last] = last_text
    cleaned = {letter: value.strip().strip(_TRAILING_SEPARATORS).strip() for letter, value in options.items()}
    return SplitQuestion(stem=stem, options=cleaned, tail=tail.strip())


def options_from_list(values: list[str]) -> dict[str, str] | None:
    """Options given as a list ("(A) 高血压", "B. 糖尿病" or bare texts) -> {letter: text}; None if inconsistent.

    Each entry may carry its own marker; then the markers must read A, B, C, … in order. Bare texts get
    letters by position.
    """
    if len(values) > len(OPTION_LETTERS):
        return None
    marked = [re.match(rf"^\s*{_MARKER}", value) for value in values]
    if all(marked):
        letters = [_letter_of(m) for m in marked if m]
        if letters != list(OPTION_LETTERS[: len(values)]):
            return None
        return {letter: value[m.end():].strip() for letter, value, m in zip(letters, values, marked) if m}
    if any(marked):
        return None
    return {OPTION_LETTERS[i]: value.strip() for i, value in enumerate(values)}
