"""Surface checks of a generated text that need no reference: empty, refusal, garbled, repetitive, wrong language,
truncated. The error taxonomy uses them for Unanswered and Output Error; thresholds are named constants so the
methodology page can quote them.
"""
from __future__ import annotations

import re
import unicodedata

from evaluator.benchmark.scoring.normalize import normalize

REFUSAL_PHRASES = (
    "不知道", "无法回答", "不能回答", "无法确定", "不清楚", "不确定", "无法判断", "无法提供", "抱歉", "对不起",
    "作为一个ai", "作为ai", "作为人工智能", "作为语言模型", "作为一个语言模型", "作为一个人工智能", "请咨询医生",
    "咨询专业医生", "咨询医生", "咨询专业医师", "咨询医师", "咨询药师", "无法作答", "不便回答", "无法给出", "无法选择",
    "不能提供", "不能给出", "不能确定", "无法明确", "不能替代", "无法替代", "idontknow", "idonotknow", "sorry", "cannotanswer",
    "unabletoanswer", "asanai", "icannot", "icant",
)
REFUSAL_MAX_CHARS = 40  # a refusal phrase only counts as the whole answer in a short output (normalised chars)
GARBLED_MAX_SHARE = 0.3  # share of characters outside CJK, ASCII and common punctuation
REPEAT_MIN_COPIES = 5  # one unit (1-30 chars) written this many times in a row
DISTINCT_NGRAM_MIN = 0.3  # distinct / total character 4-grams in outputs of at least 60 characters
LATIN_MIN_WORDS = 5  # wrong language is only judged on outputs with this many Latin words
CHARS_PER_WORD = 2  # a Latin word carries about as much as two Chinese characters
CJK_MIN_SHARE = 0.3  # of the text's weight that must be Chinese in a Chinese task
TRUNCATED_MIN_SHARE = 0.9  # of max_new_tokens, in characters, for an output without a sentence end
SENTENCE_ENDS = "。！？!?.…）)」』”\"】]；;"

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_REPEAT = re.compile(r"(.{1,30}?)\1{%d,}" % (REPEAT_MIN_COPIES - 1), re.DOTALL)


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def is_empty(raw: str | None) -> bool:
    return raw is not None and not raw.strip()


def mentions_refusal(raw: str | None) -> bool:
    """The output contains a declining phrase (``REFUSAL_PHRASES``), whatever its length. The choice answer
    extractor calls an output without any answer that says so a refusal."""
    text = normalize(raw)
    return any(phrase in text for phrase in REFUSAL_PHRASES)


def is_refusal(raw: str | None) -> bool:
    """A short output that declines ("抱歉，我无法回答", "I don't know", "请咨询医生")."""
    return 0 < len(normalize(raw)) <= REFUSAL_MAX_CHARS and mentions_refusal(raw)


def _is_expected_char(char: str) -> bool:
    if char.isspace() or _is_cjk(char) or (" " <= char <= "~"):
        return True
    category = unicodedata.category(char)
    return category[0] in "PN" or "\uff00" <= char <= "\uffef" or "\u3000" <= char <= "\u303f"


def is_garbled(raw: str | None) -> bool:
    """Replacement characters (broken UTF-8), control characters, or many characters from unexpected scripts."""
    if not raw or not raw.strip():
        return False
    if "\ufffd" in raw or any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in raw):
        return True
    text = raw.strip()
    return sum(not _is_expected_char(c) for c in text) / len(text) > GARBLED_MAX_SHARE


def is_repetitive(raw: str | None) -> bool:
    """A unit written many times in a row, or a long output made of few distinct 4-grams."""
    text = re.sub(r"\s+", "", raw or "")
    if _REPEAT.search(text):
        return True
    if len(text) < 60:
        return False
    grams = [text[i:i + 4] for i in range(len(text) - 3)]
    return len(set(grams)) / len(grams) < DISTINCT_NGRAM_MIN


def is_wrong_language(raw: str | None) -> bool:
    """A Chinese task answered mostly in another language. Latin text is counted in words, each worth
    ``CHARS_PER_WORD`` Chinese characters, so English drug names inside a Chinese answer do not count against it."""
    text = raw or ""
    cjk = sum(_is_cjk(c) for c in text)
    words = len(_LATIN_WORD.findall(text))
    return words >= LATIN_MIN_WORDS and cjk / (cjk + CHARS_PER_WORD * words) < CJK_MIN_SHARE


def is_truncated(raw: str | None, max_new_tokens: int, finish_reason: str | None = None) -> bool:
    """Cut by the length limit: the runner said so (``finish_reason == "length"``), or the output is about as
    long as the limit (in characters) and does not end a sentence."""
    if finish_reason is not None:
        return finish_reason == "length"
    text = (raw or "").rstrip()
    return len(text) >= TRUNCATED_MIN_SHARE * max_new_tokens and text[-1:] not in SENTENCE_ENDS
