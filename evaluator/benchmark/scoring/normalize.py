"""Text normalisation shared by every text metric, so that an answer is judged on content, not on typography.

``normalize(text)`` applies, in this order:

1. Unicode NFKC: full-width letters, digits and punctuation become half-width (``ＣＴ`` -> ``CT``, ``：`` -> ``:``),
   and compatibility forms fold (``Ⅱ`` -> ``II``).
2. Traditional -> simplified Chinese with OpenCC's ``t2s`` table (``醫療`` -> ``医疗``), the reference converter.
3. Lower case (``CT`` == ``ct``).
4. Every punctuation mark, symbol and whitespace character is removed.
5. Numbered classifications written three ways become one: a Chinese or Roman numeral before 型/期/度/级/类
   becomes an Arabic digit (``二型糖尿病``, ``II 型糖尿病`` and ``2型糖尿病`` are the same disease).

The result is only ever used for comparison (containment, set membership, ROUGE-L), never shown.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_T2S = opencc.OpenCC("t2s")
_NUMERAL_VALUES = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6",
                   "i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_NUMBERED_CLASS = re.compile(r"(?<![a-z])(iii|ii|iv|vi|v|i|[一二三四五六])(?=[型期度级类])")


def _is_dropped(char: str) -> bool:
    """Punctuation (P*), symbols (S*), separators (Z*) and control characters carry no medical content."""
    return unicodedata.category(char)[0] in "PSZC"


def to_simplified(text: str) -> str:
    """Traditional characters -> simplified (OpenCC t2s); simplified text passes unchanged."""
    return _T2S.convert(text)


@lru_cache(maxsize=65536)
def normalize(text: str | None) -> str:
    """The comparison form of ``text`` (see the module docstring); '' for None."""
    if not text:
        return ""
    folded = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    folded = "".join(char for char in folded if not _is_dropped(char))
    return _NUMBERED_CLASS.sub(lambda match: _NUMERAL_VALUES[match.group(1)], folded)


def contains_any(normalized_text: str, variants: list[str]) -> bool:
    """Whether the already-normalised ``normalized_text`` contains any of ``variants`` after normalisation."""
    return any((needle := normalize(variant)) and needle in normalized_text for variant in variants)
