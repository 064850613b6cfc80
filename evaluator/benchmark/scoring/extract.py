"""The one answer extractor for generated choice, yes/no and cloze answers.

Why one module: MedBench's official protocol asks a chat model to *write* its answer, so the score of every choice
task depends on how the answer is read back from prose. Every scorer and the error taxonomy go through
:func:`extract`; the Methodology page shows its rules (``RULES``) and worked examples (``EXAMPLES``).

Input: the output text, the item kind, the letters shown (``A``..) and the option texts shown in the same order
(for cloze: the candidate names, no letters). Output: an :class:`Extraction` holding either the answer (shown
letters, or candidate names for cloze, in shown order; the caller maps letters back through the permutation) or
the reason there is none: ``empty``, ``refusal``, ``no_answer``, ``several_answers`` (several picks for a
single-pick item) or ``truncated``.

Normalisation is Unicode NFKC only (full-width ``Ｂ``/``（``/``：`` fold to ``B``/``(``/``:``), plus Markdown emphasis
and ``\\boxed{}`` removed. The rules, in the order they are tried (the first that finds an answer decides):

0. Reasoning: text up to the last ``</think>`` is reasoning and is never read; an opened but unclosed ``<think>``
   (or ``thinking=True`` without ``</think>``: the chat template opened the block) is ``truncated``.
1. ``leading``: the output *starts* with an answer: lines like ``B``, ``答案：B``, ``（B）``, ``**B**``,
   ``B. 氨中毒学说`` (a letter with its own option text), ``A、C`` / ``AC`` / ``B和D``, ``是``/``否``, a cloze
   candidate alone. Several such lines in a row are one answer (a multi-choice list), unless they echo every option.
   This is also the only rule applied to an output the caller says hit its token budget (``truncated=True``):
   an answer given first survives a cut-off explanation; anything else is ``truncated``.
2. ``answer_marker``: the *last* explicit answer marker followed directly by an answer: ``答案``/``正确答案是``/
   ``答：``/``故选``/``选``/``综上``/``因此``/``所以``/``应为``/``正确的是``/``The answer is``… Markers that are negated or
   hypothetical (``不选A``, ``若选A``, ``答案不是A``) and letters judged wrong right after (``所以A项错误``) are skipped.
   So "A项错误，B项错误，C项正确，故选C" reads C, and an explanation that restates other letters after
   ``答案：B`` does not change it.
3. ``last_line``: the last line is an answer on its own (as in rule 1).
4. ``judged_correct``: letters the text calls right (``C项正确``, ``选项B是正确的``, ``Option C is correct``).
5. ``letter_mention``: the last line that mentions an option letter as a letter (``（B）``, ``我认为是B``), not as a
   label (``B项：``, ``B.``) nor inside a term (``B超``, ``A型``, ``维生素B``, ``CT``, ``MRI``, ``NYHA``, ``HIV``: a letter
   touching other Latin letters or digits is never an answer letter).
6. ``option_text``: the option's text without its letter (the last line that names options; negated mentions such
   as ``排除黄体破裂`` are skipped). For yes/no: ``存在禁忌``/``禁用`` (是) and ``不存在禁忌``/``可以使用`` (否). For cloze:
   the candidates named (a recommendation marker such as ``建议挂``/``科室：`` first).
7. otherwise ``refusal`` when the output declines (the refusal lexicon of :mod:`output_checks`), else ``no_answer``.

A single-pick item (single choice, yes/no, cloze) answered with several picks (``B或C``) is ``several_answers``.
Letters beyond those shown (``答案：F`` for A–E) are never an answer; they are reported in ``invalid_letters``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from evaluator.benchmark.scoring.output_checks import mentions_refusal
from evaluator.benchmark.tasks import Kind

Reason = Literal["no_answer", "several_answers", "refusal", "truncated", "empty"]
REASONS: tuple[str, ...] = ("no_answer", "several_answers", "refusal", "truncated", "empty")
EXTRACT_KINDS = frozenset({Kind.SINGLE_CHOICE, Kind.MULTI_CHOICE, Kind.YES_NO, Kind.CLOZE})
SINGLE_PICK = frozenset({Kind.SINGLE_CHOICE, Kind.YES_NO, Kind.CLOZE})
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# The rules in checking order, as the Methodology page shows them (name, what it reads).
RULES: tuple[tuple[str, str], ...] = (
    ("reasoning", "text before the last </think> is never read; an unclosed <think> is truncated"),
    ("leading", "the output starts with its answer: B / 答案：B / （B） / **B** / B. <option B's text> / A、C / AC / "
                "是 / 否 / a candidate alone; consecutive such lines form one multi-choice answer"),
    ("answer_marker", "the last explicit marker followed by an answer: 答案 / 正确答案是 / 答： / 故选 / 选 / 综上 / 因此 / "
                      "所以 / 应为 / 正确的是 / The answer is; negated or hypothetical markers (不选A, 若选A) skipped"),
    ("last_line", "the last line is an answer on its own"),
    ("judged_correct", "letters the text calls right: C项正确 / 选项B是正确的 / Option C is correct"),
    ("letter_mention", "the last line mentioning an option letter as a letter ((B), 我认为是B), not a label (B项：) "
                       "nor part of a term (B超, A型, 维生素B, CT, MRI, NYHA)"),
    ("option_text", "the option's text without its letter; yes/no: 存在禁忌/禁用 = 是, 不存在禁忌/可以使用 = 否; cloze: "
                    "the candidate named (after 建议挂 / 科室： first)"),
    ("refusal / no_answer", "nothing found: refusal if the output declines (无法回答, 作为AI…, 请咨询医生), else no answer"),
)
# Measured on the hand-labelled corpus (tests/extraction/corpus.jsonl) by tests/extraction/test_corpus.py, which
# fails when these differ from what it measures: agreement with the labels of the extractor (all rows, choice rows)
# and of OpenCompass's MedBench rule (acronyms removed, then every capital letter; choice rows, as a set).
CORPUS_AGREEMENT: dict[str, float | int] = {"rows": 311, "choice_rows": 269, "extractor": 0.9968, "extractor_choice": 0.9963,
                                         "opencompass_choice": 0.4758}

# Worked examples for the Methodology page (kind, option texts shown, output); the page runs the extractor on them,
# so the table always shows what the code does.
_HE = ("假性神经递质学说", "氨中毒学说", "γ-氨基丁酸学说", "氨基酸失衡学说", "锰中毒学说")
EXAMPLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("single_choice", _HE, "答案：Ｂ"),
    ("single_choice", _HE, "B. 氨中毒学说\n\n解析：A项假性神经递质学说、C项γ-氨基丁酸学说也参与其中，但不是最主要的。"),
    ("single_choice", _HE, "A项错误，B项正确，C项错误，D项错误，E项错误。"),
    ("single_choice", _HE, "肝性脑病最主要的发病机制是氨中毒学说。"),
    ("single_choice", _HE, "<think>\nA不对……C也不对……应该选B。\n</think>\n\n**答案：B**"),
    ("single_choice", _HE, "<think>\n先看A项，再看B项……"),
    ("single_choice", _HE, "答案：A或B"),
    ("single_choice", ("心电图", "胸部X线", "心脏超声", "冠状动脉CT血管成像", "运动负荷试验"),
     "T波高尖、ST段抬高，需急查ECG和CT。"),
    ("single_choice", _HE, "作为AI助手，我无法给出医学判断，建议咨询专业医生。"),
    ("multi_choice", ("黄体破裂", "异位妊娠破裂", "痛风性关节炎", "前列腺增生", "急性中耳炎"), "应考虑异位妊娠破裂和黄体破裂。"),
    ("multi_choice", ("食管癌", "肾结石", "贲门癌", "贲门失弛缓症", "痛风"), "答案：ACD\n（B肾结石、E痛风与本病无关）"),
    ("yes_no", ("是", "否"), "否，拉贝洛尔是妊娠期高血压的一线用药。"),
    ("yes_no", ("是", "否"), "综上，该用药存在禁忌。"),
    ("cloze", ("心血管内科", "消化内科", "呼吸内科"), "考虑心绞痛，建议挂心血管内科。"),
)


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` read: ``answer`` (shown letters or cloze candidates, in shown order) or ``reason``."""

    answer: tuple[str, ...] = ()
    reason: Reason | None = None
    rule: str = ""  # the rule that decided (see RULES), or the reason
    invalid_letters: tuple[str, ...] = ()  # letters in an answer position that were not shown

    @property
    def ok(self) -> bool:
        return self.reason is None


def split_reasoning(output: str, thinking: bool = False) -> tuple[str | None, str, bool]:
    """``(reasoning, answer_text, closed)``: the text up to the last ``</think>`` is reasoning.

    ``closed`` is False when reasoning was opened (``<think>`` in the output, or ``thinking`` because the prompt
    opened it) and never closed: then there is no answer text to read.
    """
    if THINK_CLOSE in output:
        head, _, tail = output.rpartition(THINK_CLOSE)
        return head.replace(THINK_OPEN, "", 1).strip(), tail, True
    if thinking or THINK_OPEN in output:
        return output.replace(THINK_OPEN, "", 1).strip(), "", False
    return None, output, True


# ----- normalisation ------------------------------------------------------------------------------------------------
_BOXED = re.compile(r"\$*\\boxed\{\s*(?:\\text\{)?([^{}]*?)\}?\s*\}\$*")
_EMPHASIS = re.compile(r"\*\*|__|~~|`|^\s{0,3}#{1,6}\s*|^\s*>\s?", re.MULTILINE)


def normalize_output(text: str) -> str:
    """NFKC (full width -> half width), ``\\boxed{C}`` -> ``答案:C``, Markdown emphasis removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _BOXED.sub(lambda m: f"答案:{m.group(1)}", text)
    return _EMPHASIS.sub("", text)


def _fold(text: str) -> str:
    """Comparison form of an option text: NFKC, no whitespace or punctuation."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not _is_punct(c) and not c.isspace())


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


# ----- lexicons -----------------------------------------------------------------------------------------------------
_MARKERS = re.compile("|".join([
    r"(?:最终|正确|参考|标准|最佳|本题|此题|该题|我的|故|所以|因此)?的?答案(?!解析)\s*(?:应该|应当|应|就|即|可能)?\s*(?:是|为|选择?)?",
    r"(?<![回解作])答\s*[:]",
    r"(?<![不未没若如别可首备候挑筛假])选(?:择)?(?![项题出用药修读])",
    r"首选(?:的)?(?:检查|药物|治疗|方法|措施)?(?:方法)?\s*(?:是|为)?",
    r"正确(?:的)?(?:选项|答案|诊断)?\s*(?:是|为|应为)",
    r"(?:最佳|最合适|最恰当|最符合|最可能|最正确)(?:的)?(?:选项|答案|诊断)?\s*(?:是|为)",
    r"(?:综上所述|综上|因此|所以|故而|故|因而|总之|总结|结论)",
    r"(?:我)?(?:认为|倾向于?|觉得)(?:应该)?(?:是|选)?",
    r"应(?:该|当)?(?:是|为|选)",
    r"(?:应)?(?:重点)?考虑(?:为|是)?",
    r"(?:the\s+)?(?:correct\s+|final\s+|best\s+)?answer\s*(?:is|:)",
    r"\b(?:i\s+)?(?:choose|select|pick)\b",
]), re.IGNORECASE)
_HYPOTHETICAL_BEFORE = re.compile(r"(?:若|如果|如|假如|假设|要是|不|没|未|非|并非|而非|是否)\s*$")
_NEGATED_START = re.compile(r"^\s*(?:不是|并非|不|非|并不|未|没有)")
# Acronyms that a run of capitals with one unshown letter could be mistaken for (a run of shown letters only, such
# as ABC for a multi-choice item, is read as letters where an answer is expected).
ACRONYMS = frozenset({"DNA", "RNA", "ECG", "EKG", "HIV", "ACEI", "ARB", "BMI", "ICU", "COPD", "NYHA", "CTA", "PET",
                      "ACS", "AIDS", "BCG", "CEA", "CRP", "DIC", "GCS", "HBV", "HCV", "ARDS", "CABG", "PCI", "MRI",
                      "MRCP", "ERCP", "CTPA", "TSH", "INR", "PPD", "GERD", "DSA", "IgA", "IgE", "IgG", "IgM"})
_PREFIX = re.compile(r"(?:[\s:,=\"“「『【\[(]|是|为|选择?|应该|应当|应|就|即|了|项)*")
_LETTER_RUN = re.compile(r"([A-Z]+)(?![A-Za-z0-9])")
_SEPARATOR = re.compile(r"\s*(?:[、,/&+;]|以及|和|及|与|或者|或|or\b|and\b)\s*|\s+")
_CLOSERS = re.compile(r"(?:\s*[)\]】」』\"”])*")
_PAREN = re.compile(r"\s*\([^()]{0,40}\)")
_BAD_FOLLOWER = re.compile(r"^(?:-\S|超|型|族|组|类|细胞|波|段|期|级|度|受体|链|抗原|抗体|区|点|线|反应|蛋白|淋巴|药|门|式|管|字|病毒|肝)")
_TERM_BEFORE = re.compile(r"(?:维生素|Vit\.?|乙型|甲型|丙型|\d)\s*$", re.IGNORECASE)
_JUDGED_WRONG = re.compile(
    r"^\s*(?:项|选项)?\s*(?:中的?|的说法|的描述)?\s*(?:都|均|也)?\s*(?:是|为)?\s*"
    r"(?:错误|错|不正确|不对|不符合|不选|可以?排除|可除外|排除|不是|不属于|不考虑|不恰当|不合适|干扰|无关|可能性(?:较|很)?小|is\s+(?:in)?correct|is\s+wrong)",
    re.IGNORECASE)
_RIGHT_TAIL = re.compile(r"^\s*(?:项|选项)?\s*(?:的说法|的描述|的叙述)?\s*(?:均|都|也)?\s*(?:是|为|最)?\s*"
                         r"(?:正确|对的|符合题意|最符合|最合适|最恰当|最佳|最可能)")
_OPTION_RIGHT = re.compile(r"option\s*\(?([A-Z])\)?\s*is\s*(?:the\s*)?(?:correct|right|best)", re.IGNORECASE)
_LETTER_LIST = re.compile(r"(?<![A-Za-z0-9])[A-Z](?:\s*(?:[、,/]|和|及|与)\s*[A-Z])*(?![A-Za-z0-9])")
_LABEL_LINE = re.compile(r"^\s*(?:选项)?([A-Z])\s*(?:项|选项)?\s*[.:、]\s*(.+)$")
_POSITIVE = re.compile(r"可考虑|需考虑|应考虑|需要考虑|首先考虑|最可能|可能性大|符合|正确|支持|需鉴别|应鉴别|需要鉴别")
_NEGATIVE = re.compile(r"不符|不考虑|无关|排除|除外|不支持|错误|不正确|可能性小|不适用|不需要|不可能|不对")
_NEGATED_MENTION_BEFORE = re.compile(r"(?:不考虑|不是|并非|而非|排除|除外|不支持|不符合|不像|无需考虑|不需要|不用|不必|非|不选)\s*$")
_NEGATED_MENTION_AFTER = re.compile(r"^\s*(?:与本题|与此|与题干)?(?:均|都|也)?(?:可以?排除|可除外|不考虑|可能性(?:较|很)?小|不支持|错误|不正确|不对|不符合?|无关|不适用)")
_LIST_JOIN = re.compile(r"(?:、|以及|和|及|与|或)")
_REST_ALL = re.compile(r"(?:其余|其他|其它|余下)(?:选项|诊断|各项)?\s*(?:均|都)\s*(?:需要?|要|应|可|可能|需)?\s*(?:考虑|鉴别|正确|选|列入)")
_CLAUSE_END = re.compile(r"[。;!?\n]")

_YES_START = ("是的", "是", "对", "正确", "有", "存在", "yes")
_NO_START = ("不是", "否", "不对", "错误", "错", "没有", "无", "不存在", "no")
_YES_PHRASE = re.compile(r"(?<![不无没非否])(?:存在|有|属于|是)(?:明确的?|绝对)?(?:用药)?禁忌(?!症)|(?<![不无没非])禁用|禁止使用|"
                         r"不宜(?:使用|用|服用)|不能(?:使用|用|服用)|不可(?:使用|用)|不应(?:使用|用)")
_NO_PHRASE = re.compile(r"(?:不存在|没有|无|不属于|并无|并不存在|不是)(?:明确的?)?(?:用药)?禁忌|不禁用|(?:并)?不存在|"
                        r"可以(?:安全)?(?:使用|用|服用)|可安全使用|适合使用|能够使用")
_YES_WORDS = ("是", "对", "正确", "有", "存在", "yes", "true")
_NO_WORDS = ("否", "不是", "错", "错误", "不对", "无", "没有", "不存在", "no", "false")
_CLOZE_LABEL = re.compile(r"(?:答案|(?:推荐|就诊|应挂|建议)?科室|建议|推荐|应该|应当|应|可以|先|去|到|挂号?|就诊|看|前往|您|你|于)+\s*[:]?\s*")
_CLOZE_MARKERS = re.compile(r"(?:答案|科室)\s*[:]|(?:建议|推荐|应该|应当|应|需要|请|可以|最好)\s*(?:您|你)?\s*(?:先|尽快)?\s*"
                            r"(?:去|到|挂号?|就诊于?|看|前往|转诊)?|挂号?|就诊于?|前往|(?:去|到)")
_CLOZE_SUFFIX = re.compile(r"(?:就诊|门诊|看看|挂号|看|即可|比较合适|较合适|合适)?[\s。.!,]*$")


@dataclass
class _Context:
    kind: Kind
    letters: list[str]
    options: list[str]  # shown texts, aligned with letters (cloze: candidates)

    def option_variants(self) -> list[tuple[str, int]]:
        """(folded text, option index), longest first; an option's text without a parenthetical part too."""
        variants: dict[str, int] = {}
        for i, text in enumerate(self.options):
            for form in (text, re.sub(r"[(（][^)）]*[)）]", "", text)):
                folded = _fold(form)
                if len(folded) >= 2 or (folded and self.kind is not Kind.YES_NO):
                    variants.setdefault(folded, i)
        return sorted(variants.items(), key=lambda kv: len(kv[0]), reverse=True)

    def polarity_letter(self, yes: bool) -> str | None:
        """The shown letter whose option means yes (or no)."""
        words = _YES_WORDS if yes else _NO_WORDS
        for letter, text in zip(self.letters, self.options):
            if _fold(text).lower() in words:
                return letter
        return None


# ----- reading an answer at a position --------------------------------------------------------------------------------
def _read_letters(text: str, ctx: _Context, *, first_copula: bool = True) -> tuple[list[str], list[str], str]:
    """Letters written at the start of ``text`` (after an answer marker): ``B``, ``A、C``, ``AC``, ``B和D``,
    ``A. 黄体破裂 B. 异位妊娠破裂``. Returns (shown letters, invalid letters, the rest of the text)."""
    pos = _PREFIX.match(text).end()
    found: list[str] = []
    invalid: list[str] = []
    while True:
        match = _LETTER_RUN.match(text, pos)
        if not match:
            break
        run = match.group(1)
        if len(run) > 1 and not _letter_run(run, ctx):
            break  # a word or an acronym (CT, MRI, ACEI), not a list of letters
        if _TERM_BEFORE.search(text[:match.start()]):
            break
        end = _CLOSERS.match(text, match.end()).end()
        rest = text[end:]
        if _BAD_FOLLOWER.match(rest) or _JUDGED_WRONG.match(rest):
            break
        if found and re.match(r"\s*(?:是|为)", rest):
            break  # "答案是B，A是干扰项": a second letter starting a new statement
        end = _skip_annotation(text, end, run, ctx)
        for letter in run:
            (found if letter in ctx.letters else invalid).append(letter)
        sep = _SEPARATOR.match(text, end)
        if not sep or sep.end() == end:
            pos = end
            break
        pos = sep.end()
        if not _LETTER_RUN.match(text, pos):
            pos = end
            break
    return _dedupe(found), _dedupe(invalid), text[pos:] if found or invalid else text


def _letter_run(run: str, ctx: _Context) -> bool:
    """``AC`` is a list of letters; ``ABF`` (F not shown) too, with one stray letter; ``CT``/``DNA`` are not.
    One letter repeated (``AAAA…``, a degenerate model) is that letter."""
    if len(set(run)) == 1:
        return run[0] in ctx.letters
    if len(set(run)) != len(run):
        return False
    shown = sum(letter in ctx.letters for letter in run)
    return shown == len(run) or (len(run) >= 3 and shown == len(run) - 1 and run not in ACRONYMS)


def _skip_annotation(text: str, end: int, run: str, ctx: _Context) -> int:
    """After ``B``: skip ``(氨中毒学说)`` or ``. 氨中毒学说`` (the letter's own option text)."""
    paren = _PAREN.match(text, end)
    if paren:
        return _CLOSERS.match(text, paren.end()).end()
    if len(run) == 1 and run in ctx.letters:
        option = _fold(ctx.options[ctx.letters.index(run)])
        sep = re.match(r"\s*[.:、]?\s*", text[end:])
        start = end + (sep.end() if sep else 0)
        consumed, folded = start, ""
        while consumed < len(text) and len(folded) < len(option):
            char = text[consumed]
            if not (_is_punct(char) or char.isspace()):
                folded += char
            consumed += 1
        if option and folded == option:
            return _CLOSERS.match(text, consumed).end()
    return end


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _read_yes_no(text: str, ctx: _Context) -> list[str]:
    """是/否 (and their synonyms) at the start of ``text``."""
    stripped = re.sub(r"^[\s:,\"“【\[(]*", "", text)
    copula = re.match(r"(?:是|为|应为|应该是)\s*[:]?\s*(?=[A-Z]|否|不|无|没|存在|有|是)", stripped)
    if copula and not stripped.startswith("是否"):
        stripped = stripped[copula.end():] if not re.match(r"是\s*[,.。!]|是$|是的", stripped) else stripped
    for pattern, yes in ((_NO_PHRASE, False), (_YES_PHRASE, True)):
        if pattern.match(stripped):
            letter = ctx.polarity_letter(yes)
            return [letter] if letter else []
    if stripped.startswith("是否"):  # the question echoed: 是否存在禁忌——是
        echo = re.match(r"是否[^?:—\-]*[?:—\-]+\s*", stripped)
        return _read_yes_no(stripped[echo.end():], ctx) if echo and echo.end() < len(stripped) else []
    for words, yes in ((_NO_START, False), (_YES_START, True)):
        for word in sorted(words, key=len, reverse=True):
            if stripped.lower().startswith(word) and (len(stripped) == len(word) or _ends_word(stripped[len(word)])):
                letter = ctx.polarity_letter(yes)
                return [letter] if letter else []
    return []


def _ends_word(char: str) -> bool:
    return _is_punct(char) or char.isspace() or char in "的，"


def _polarity_in(clause: str, ctx: _Context) -> list[str]:
    """是/否 from the domain phrases anywhere in ``clause`` (存在禁忌 / 不存在禁忌 …); nothing when both occur."""
    no_spans = [m.span() for m in _NO_PHRASE.finditer(clause)]
    yes_hits = [m for m in _YES_PHRASE.finditer(clause)
                if not any(s <= m.start() < e for s, e in no_spans)]
    if bool(no_spans) == bool(yes_hits):
        return []
    letter = ctx.polarity_letter(bool(yes_hits))
    return [letter] if letter else []


def _mentions(text: str, ctx: _Context, negated: bool = False) -> list[int]:
    """Indexes of the options whose text ``text`` names (longest first, no overlaps, negated mentions skipped).

    Compared on folded text (no spaces or punctuation); for cloze, bracketed asides (``心血管内科（心内科）``) are
    dropped first, so that an alias in brackets is not a second pick."""
    if ctx.kind is Kind.CLOZE:
        text = re.sub(r"[(（][^()（）]{0,20}[)）]", "", unicodedata.normalize("NFKC", text))
    text = "".join(c for c in unicodedata.normalize("NFKC", text)
                   if c in "、,;。" or not (_is_punct(c) or c.isspace()))  # list separators kept
    taken: list[tuple[int, int, int]] = []
    for form, index in ctx.option_variants():
        for match in re.finditer(re.escape(form), text):
            span = match.span()
            if any(span[0] < e and s < span[1] for s, e, _ in taken):
                continue
            taken.append((*span, index))
    taken.sort()
    kept, dropped = [], []
    for i, (start, end, index) in enumerate(taken):
        before, after = text[max(0, start - 6):start], text[end:end + 10]
        denied = bool(_NEGATED_MENTION_BEFORE.search(before) or _NEGATED_MENTION_AFTER.match(after))
        if not denied and i and taken[i - 1][2] in dropped and _LIST_JOIN.fullmatch(text[taken[i - 1][1]:start]):
            denied = True  # 排除股骨颈骨折和痛风: the negation covers the whole list
        if not denied and i + 1 < len(taken) and _LIST_JOIN.fullmatch(text[end:taken[i + 1][0]]):
            tail = text[taken[-1][1]:taken[-1][1] + 10] if _joined_to_end(text, taken, i) else ""
            denied = bool(tail and _NEGATED_MENTION_AFTER.match(tail))  # 股骨颈骨折与痛风无关
        (dropped if denied else kept).append(index)
    return _dedupe_int(dropped if negated else kept)


def _joined_to_end(text: str, taken: list[tuple[int, int, int]], i: int) -> bool:
    """Whether mentions i, i+1, … up to the last are one list (joined only by 、/和/与…)."""
    return all(_LIST_JOIN.fullmatch(text[taken[j][1]:taken[j + 1][0]]) for j in range(i, len(taken) - 1))


def _dedupe_int(values: list[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _answer_at(text: str, ctx: _Context) -> tuple[list[str], list[str]]:
    """The answer written at the start of ``text`` (a marker's tail): letters, else 是/否, else option texts in the
    clause. Returns (answer, invalid letters)."""
    if ctx.kind is Kind.CLOZE:
        return [ctx.options[i] for i in _mentions(_first_clause(text), ctx)], []
    found, invalid, _rest = _read_letters(text, ctx)
    if found or invalid:
        return found, invalid
    if ctx.kind is Kind.YES_NO:
        return (_read_yes_no(text, ctx) or _polarity_in(_first_clause(text), ctx)), []
    head = _PREFIX.match(text).end()
    clause = _first_clause(text[head:])  # multi-choice: the sentence (需与A、B相鉴别); single: the clause
    clause = clause if ctx.kind is Kind.MULTI_CHOICE else re.split(r"[,]", clause)[0]
    mentioned = _mentions(clause, ctx)
    return [ctx.letters[i] for i in mentioned], []


def _first_clause(text: str) -> str:
    text = text.lstrip(" \t:")
    text = text.lstrip("\n") if not text.strip("\n").startswith("\n") else text
    match = _CLAUSE_END.search(text)
    return text[:match.start()] if match else text


# ----- whole lines that are an answer -----------------------------------------------------------------------------------
_LINE_LABEL = re.compile(r"^\s*(?:[(\[【]?(?:最终|正确|参考)?答案[)\]】]?|答|选择?|answer|the\s+answer\s+is|final\s+answer)"
                         r"\s*(?:是|为|:)?\s*", re.IGNORECASE)


def _pure_line(line: str, ctx: _Context) -> tuple[list[str], list[str]] | None:
    """(answer, invalid) when ``line`` is an answer on its own, else None."""
    body = _LINE_LABEL.sub("", line, count=1).strip()
    if not body:
        return None
    if ctx.kind is Kind.CLOZE:
        first = re.split(r"[,;。]", body)[0]  # 神经内科，如有外伤则去神经外科: the first clause decides
        core = _CLOZE_SUFFIX.sub("", _CLOZE_LABEL.sub("", first, count=1)).strip()
        folded = _fold(core)
        for i, text in enumerate(ctx.options):
            if folded and folded == _fold(text):
                return [text], []
        return None
    if ctx.kind is Kind.YES_NO and (picked := _read_yes_no(body, ctx)):
        first = _first_clause(re.split(r"[,]", body)[0]) if body else ""
        if len(_fold(first)) <= 8 or _NO_PHRASE.match(body) or _YES_PHRASE.match(body):
            others = [_read_yes_no(re.sub(r"^(?:也|又|但|却|而)", "", clause.strip()), ctx)
                      for clause in re.split(r"[,]", _first_clause(body))[1:]]
            return _dedupe(picked + [letter for found in others for letter in found]), []
    found, invalid, rest = _read_letters(body, ctx)
    if not (found or invalid):
        if ctx.kind is not Kind.YES_NO:
            folded = _fold(body)
            for i, text in enumerate(ctx.options):
                if folded and folded == _fold(text):
                    return [ctx.letters[i]], []
        return None
    rest = rest.strip()
    if not rest or rest[0] in "。,!;" or _RIGHT_TAIL.match(rest) or re.fullmatch(r"(?:项|选项)[。.!]?", rest):
        return found, invalid
    return None


def _leading_block(lines: list[str], ctx: _Context) -> tuple[list[str], list[str], int] | None:
    """Consecutive answer lines at the top: (answer, invalid, lines used); None when the first line is none, or
    when the lines echo every option (a base model copying the option list)."""
    found: list[str] = []
    invalid: list[str] = []
    used = 0
    for line in lines:
        picked = _pure_line(line, ctx)
        if picked is None:
            break
        found += picked[0]
        invalid += picked[1]
        used += 1
    if not used:
        return None
    if used > 1 and ctx.letters and set(found) == set(ctx.letters):
        return [], [], used  # the option list echoed: these lines are no answer
    return _dedupe(found), _dedupe(invalid), used


# ----- the extractor ------------------------------------------------------------------------------------------------
def extract(output: str | None, kind: Kind | str, letters: list[str], options: list[str], *,
            truncated: bool = False, thinking: bool = False) -> Extraction:
    """Read the answer of one generated output (see the module docstring for the rules).

    ``letters``/``options``: the letters and option texts *shown* in the prompt, aligned (cloze: ``letters`` empty,
    ``options`` the candidates shown). ``truncated``: the generation hit its token budget. ``thinking``: the prompt
    opened a reasoning block, so the output is reasoning until ``</think>``.
    """
    kind = Kind(kind)
    if kind not in EXTRACT_KINDS:
        raise ValueError(f"the answer extractor reads {', '.join(sorted(EXTRACT_KINDS))} answers, not {kind}")
    if kind is not Kind.CLOZE and len(letters) != len(options):
        raise ValueError(f"{len(letters)} letters but {len(options)} option texts")
    ctx = _Context(kind, list(letters), [str(o) for o in options])
    _reasoning, text, closed = split_reasoning(output or "", thinking)
    if not closed:
        return Extraction(reason="truncated", rule="reasoning")
    text = normalize_output(text).strip()
    if not text:
        return Extraction(reason="truncated" if truncated else "empty", rule="truncated" if truncated else "empty")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    block = _leading_block(lines, ctx)
    if block and (block[0] or block[1]):
        return _finish(ctx, block[0], block[1], "leading")
    if truncated:
        return Extraction(reason="truncated", rule="truncated")
    if block:  # an echo of the options: read only what follows it
        lines = lines[block[2]:]
        text = "\n".join(lines)
        if not lines:
            return Extraction(reason="no_answer", rule="no_answer")
    for rule, reader in (("answer_marker", _by_marker), ("last_line", _by_last_line),
                         ("judged_correct", _by_judgement), ("letter_mention", _by_letter_mention),
                         ("option_text", _by_option_text)):
        found, invalid = reader(text, lines, ctx)
        if found or invalid:
            return _finish(ctx, found, invalid, rule)
    if mentions_refusal(text):
        return Extraction(reason="refusal", rule="refusal")
    return Extraction(reason="no_answer", rule="no_answer")


def answer_settled(text: str, kind: Kind | str, letters: list[str], options: list[str]) -> bool:
    """Whether no continuation of ``text`` can change what :func:`extract` reads from it: the output starts with an
    answer (rule ``leading``) and a complete line that is no answer line has ended that block.

    Why: generation may stop there (early stop for non-reasoning models) and the stored, shorter output reads
    exactly as the full one would. Anything else (an answer still to come, reasoning) is not settled."""
    if THINK_OPEN in text or THINK_CLOSE in text or "\n" not in text:
        return False
    ctx = _Context(Kind(kind), list(letters), [str(o) for o in options])
    complete = normalize_output(text[: text.rindex("\n")])
    lines = [line.strip() for line in complete.splitlines() if line.strip()]
    block = _leading_block(lines, ctx)
    return block is not None and bool(block[0] or block[1]) and block[2] < len(lines)


def _finish(ctx: _Context, found: list[str], invalid: list[str], rule: str) -> Extraction:
    order = ctx.letters if ctx.kind is not Kind.CLOZE else ctx.options
    answer = tuple(sorted(_dedupe(found), key=order.index))
    bad = tuple(_dedupe(invalid))
    if not answer:
        return Extraction(reason="no_answer", rule=rule, invalid_letters=bad)
    if ctx.kind in SINGLE_PICK and len(answer) + len(bad) > 1:
        return Extraction(reason="several_answers", rule=rule, invalid_letters=bad)
    return Extraction(answer=answer, rule=rule, invalid_letters=bad)


def _by_marker(text: str, lines: list[str], ctx: _Context) -> tuple[list[str], list[str]]:
    if ctx.kind is Kind.CLOZE:
        return _cloze_by_marker(text, ctx)
    for match in reversed(list(_MARKERS.finditer(text))):
        if _HYPOTHETICAL_BEFORE.search(text[max(0, match.start() - 3):match.start()]):
            continue
        tail = text[match.end():]
        if _NEGATED_START.match(tail):
            continue
        tail = re.sub(r"^[\s:,]*\n", "", tail, count=1) if not tail.split("\n", 1)[0].strip(" :,") else tail
        found, invalid = _answer_at(tail, ctx)
        if not (found or invalid) and not tail.split("\n", 1)[0].strip(" \t:,"):
            block = _leading_block([ln.strip() for ln in tail.splitlines() if ln.strip()], ctx)
            if block:
                found, invalid = block[0], block[1]
        if found or invalid:
            if ctx.kind is Kind.MULTI_CHOICE:  # an answer list on the following lines: A. …\nC. …
                following = [ln.strip() for ln in tail.splitlines()[1:] if ln.strip()]
                more = _leading_block(following, ctx) if _pure_line(tail.splitlines()[0], ctx) else None
                if more:
                    found, invalid = _dedupe(found + more[0]), _dedupe(invalid + more[1])
            return found, invalid
    return [], []


def _cloze_by_marker(text: str, ctx: _Context) -> tuple[list[str], list[str]]:
    for match in _CLOZE_MARKERS.finditer(text):
        before = text[max(0, match.start() - 4):match.start()]
        if _NEGATED_MENTION_BEFORE.search(before) or _HYPOTHETICAL_BEFORE.search(before):
            continue
        named = _mentions(re.split(r"[,]", _first_clause(text[match.end():]))[0], ctx)
        if named:
            return [ctx.options[i] for i in named], []
    return [], []


def _by_last_line(text: str, lines: list[str], ctx: _Context) -> tuple[list[str], list[str]]:
    picked = _pure_line(lines[-1], ctx) if len(lines) > 1 else None
    return picked if picked else ([], [])


def _by_judgement(text: str, lines: list[str], ctx: _Context) -> tuple[list[str], list[str]]:
    """Letters (or letter lists: ``A、B、C均正确``) the text calls right, then per-option verdict lines
    (``A项：黄体破裂，可考虑``), then "all but the excluded" (``排除痛风，其余均需考虑``, multi-choice)."""
    if ctx.kind is Kind.CLOZE:
        return [], []
    found: list[str] = []
    for match in _LETTER_LIST.finditer(text):
        group = [c for c in match.group(0) if c in ctx.letters]
        if not group or _TERM_BEFORE.search(text[:match.start()]) \
                or re.search(r"(?:不|非|若|如果)\s*$", text[max(0, match.start() - 2):match.start()]):
            continue
        rest = text[_skip_annotation(text, match.end(), match.group(0)[-1], ctx):]
        if _RIGHT_TAIL.match(rest):
            found += group
    found += [m.group(1).upper() for m in _OPTION_RIGHT.finditer(text) if m.group(1).upper() in ctx.letters]
    if found:
        return _dedupe(found), []
    verdicts = [(m.group(1), m.group(2)) for line in lines if (m := _LABEL_LINE.match(line)) and m.group(1) in ctx.letters]
    if len(verdicts) >= 2:
        positive = [letter for letter, body in verdicts
                    if _POSITIVE.search(body) and not _NEGATIVE.search(body)]
        if positive:
            return _dedupe(positive), []
    if ctx.kind is Kind.MULTI_CHOICE and _REST_ALL.search(text):
        excluded = set(_mentions(text, ctx, negated=True))
        if excluded:
            return [letter for i, letter in enumerate(ctx.letters) if i not in excluded], []
    return [], []


def _by_letter_mention(text: str, lines: list[str], ctx: _Context) -> tuple[list[str], list[str]]:
    if ctx.kind is Kind.CLOZE:
        return [], []
    for line in reversed(lines):
        found: list[str] = []
        for match in _LETTER_LIST.finditer(line):
            group, rest = [c for c in match.group(0) if "A" <= c <= "Z"], line[match.end():]
            if not set(group) <= set(ctx.letters) or _TERM_BEFORE.search(line[:match.start()]):
                continue
            if _JUDGED_WRONG.match(rest) or not re.match(
                    r"\s*(?:$|[)\]】」』\"”。,!?;]|(?:都|均)(?:是|可以?|有?可能|正确|对))", rest):
                continue  # a label (B项：, A. …), a term (B超) or a statement about the letters (D拒绝诊治…)
            if _NEGATED_MENTION_BEFORE.search(line[max(0, match.start() - 6):match.start()]):
                continue
            found += group
        if found:
            return _dedupe(found), []
    return [], []


def _by_option_text(text: str, lines: list[str], ctx: _Context) -> tuple[list[str], list[str]]:
    for line in reversed(lines):
        if ctx.kind is Kind.YES_NO:
            for clause in reversed(re.split(r"[。;!?]", line)):
                if picked := _polarity_in(clause, ctx):
                    return picked, []
            continue
        named = _mentions(line, ctx)
        if named:
            if ctx.kind is Kind.CLOZE:
                return [ctx.options[i] for i in named], []
            return [ctx.letters[i] for i in named], []
    return [], []
