"""Display forms shared by the public pages and the organizer pages, so a number reads the same everywhere."""
from __future__ import annotations

import html
import re

# One meaning of GB on the site, the settings and the planner: the decimal gigabyte (10^9 bytes), as the hub, GPU
# vendors (H100 80 GB) and disk makers quote sizes; KB likewise 10^3 bytes.
GB = 1e9
KB = 1e3


def compact_count(count: float | None) -> str:
    """'205K', '7.2B', '14B' or '' (unknown): raw digits such as 205120 are hard to read."""
    if count is None:
        return ""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            value = count / size
            return (f"{value:.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")) + unit
    return str(int(count))


def plural(count: int, noun: str) -> str:
    """'1 evaluation', '2 evaluations' (regular nouns): no "evaluation(s)" on the site."""
    return f"{count} {noun if count == 1 else noun + 's'}"


# --- the one escaping rule for user- and model-controlled text --------------------------------------------------
# Streamlit renders GitHub-flavoured Markdown in st.markdown/title/caption, st.error/warning/info/success, widget
# and expander labels, tab names, progress texts, metric values, help tooltips and st.table cells, plus its own
# directives (:red[..], :material/..:, :small[..]) and LaTeX ($..$). Anything an outsider controls (a model's
# hub id, licence or card fields, a flag or moderation reason, suite item text, a model's output, a URL
# parameter) must show literally there: a link or image in it would put a phishing link or tracking pixel on
# the site's own pages.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()#!|<>&~$:])")  # emphasis, code, links, images, HTML, tables, math, directives
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))", re.MULTILINE)  # list items, setext underlines
# GFM turns bare "http://..", "www.." and e-mail addresses into links *after* escapes are resolved (a pass over the
# text), so no backslash can stop it; an invisible WORD JOINER inside the pattern does, and the text reads the same.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"\\:(?=//|material/)|@|www(?=\.)", re.IGNORECASE)


def md_escape(text: object) -> str:
    """``text`` (any value, via ``str``) as Markdown that renders literally: no link, image, autolink, HTML,
    emphasis, code, math, Streamlit directive, heading, list or table can come out of it.

    Why one rule: every user- or model-controlled string that reaches a Markdown-rendering call goes through
    this function (or is shown with st.text / st.code / st.dataframe / st.json, which never render Markdown).
    ASCII punctuation Markdown gives meaning to is backslash-escaped; list and setext markers are escaped at line
    starts; ``://``, ``@`` and ``www.`` get an invisible WORD JOINER so GFM's autolink pass cannot find a URL or an
    e-mail address, and so does ``:material/`` (Streamlit rewrites it in the source before parsing); escaping
    ``:`` ends ``:red[..]``-style directives and ``:smile:`` shortcodes. Never put the
    result inside backticks: a code span shows its backslashes."""
    escaped = _MD_INLINE.sub(r"\\\1", str(text))
    escaped = _MD_LINE_START.sub(_escape_line_start, escaped)
    return _AUTOLINK.sub(_join, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    return indent + (marker + "\\" if marker[0].isdigit() else "\\" + marker)  # "1\." and "\-" are literal


def _join(match: re.Match[str]) -> str:
    return match.group(0) + WORD_JOINER


def plotly_escape(text: object) -> str:
    """``text`` for a Plotly trace name, axis title or hover label: Plotly renders a subset of HTML there
    (``<a href>``, ``<b>``, ``<br>``...), so ``&``, ``<`` and ``>`` become entities, which it shows literally."""
    return html.escape(str(text), quote=False)


_UNDECODABLE = re.compile("\ufffd+")


def mark_undecodable(text: str | None) -> str:
    """A model's output with each run of U+FFFD (bytes the tokenizer could not decode as UTF-8, e.g. a character
    cut by the length limit) written once as an escape, ``\\ufffd×3``: rows of "�" read as broken page text."""
    if not text:
        return text or ""
    return _UNDECODABLE.sub(lambda m: "\\ufffd" + (f"×{len(m.group(0))}" if len(m.group(0)) > 1 else ""), text)
