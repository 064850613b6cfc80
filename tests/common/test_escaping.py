"""The site's one escaping rule, ``common.display.md_escape``, on every hostile payload: an independent CommonMark
parser (markdown-it-py, with GFM tables and strikethrough) reads the escaped text as one paragraph of plain text
equal to the input; GFM's autolink-literal pass and Streamlit's own source rewrites (``:material/``, shortcodes,
``:color[..]`` directives, ``$`` math) find nothing. The browser side is tests/submissions/test_browser_escaping.py.
"""
from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from common.display import WORD_JOINER, md_escape, plotly_escape
from tests.pages import shown

BAIT = "http://127.0.0.1:9"
PAYLOADS = {
    "image": f"![x]({BAIT}/pixel.png)",
    "link": f"[sign in again]({BAIT}/phish)",
    "link with title": f'[a]({BAIT}/t "title")',
    "html image": f"<img src={BAIT}/x onerror=alert(1)>",
    "html data link": "<a href=data:text/html,<b>hi</b>>d</a>",
    "markdown data link": "[d](data:text/html;base64,PGI+aGk8L2I+)",
    "javascript link": "[j](javascript:alert(1))",
    "script": "<script>alert('x')</script>",
    "autolink": f"<{BAIT}/a>",
    "bare url": f"see {BAIT}/b.",
    "https in parentheses": "(https://example.org/x)",
    "www": "www.example.org and WWW.Example.org",
    "e-mail": "me@mail.example",
    "mailto": "mailto:me@mail.example",
    "reference link": f"[x]\n\n[x]: {BAIT}/r",
    "footnote": f"x[^1]\n\n[^1]: {BAIT}/f",
    "color directive": ":red[x] :blue-background[y]",
    "material icon": ":material/home: and :material/flag:",
    "shortcode": ":smile: :+1:",
    "small directive": ":small[tiny]",
    "inline math": "$x^2$ and $$y$$",
    "emphasis": "**b** __b__ *i* _i_ ~~s~~ ~t~",
    "code": "`c` ``d``",
    "heading": "# h\n## h2",
    "lists": "- a\n+ b\n* c\n1. d\n2) e",
    "indented list": "  - a\n   10. b",
    "block quote": "> q",
    "setext heading": "t\n===\nu\n---",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "entities": "&lt;img&gt; &#60;b&#62; &amp;",
    "html comment": "<!-- x -->",
    "escapes": "\\*x\\* \\[y\\]",
    "hard break": "a\\\nb",
    "chinese": "患者，男，40岁：反复胸痛3天（加重1天）。",
}
# GFM's autolink-literal pass (mdast-util-gfm-autolink-literal) runs on text after escapes are resolved
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE | re.ASCII)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)
# Streamlit's frontend: it rewrites ":material/" in the source, loads shortcodes where this matches the source
STREAMLIT_SHORTCODE = re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:")
PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def paragraph_text(markdown: str) -> str:
    """The text of ``markdown``, asserting it parses to plain-text paragraphs only (a blank line starts the next)."""
    tokens = PARSER.parse(markdown)
    assert {t.type for t in tokens} <= {"paragraph_open", "inline", "paragraph_close"}, [t.type for t in tokens]
    paragraphs = []
    for inline in (t for t in tokens if t.type == "inline"):
        children = inline.children or []
        assert {c.type for c in children} <= {"text", "softbreak"}, [(c.type, c.content) for c in children]
        paragraphs.append("".join("\n" if c.type == "softbreak" else c.content for c in children))
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_escaped_text_is_one_paragraph_of_the_same_text(payload: str) -> None:
    escaped = md_escape(payload)
    # Markdown drops the spaces that start a line, whatever the escaping
    assert paragraph_text(escaped).replace(WORD_JOINER, "") == "\n".join(line.lstrip() for line in payload.split("\n"))
    assert shown(escaped) == payload  # the page tests read escaped text through this


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_gfm_autolinks_and_streamlit_syntax_find_nothing(payload: str) -> None:
    escaped = md_escape(payload)
    text = paragraph_text(escaped)
    assert not GFM_URL.search(text) and not GFM_EMAIL.search(text), text
    assert ":material/" not in escaped and not STREAMLIT_SHORTCODE.search(escaped)
    assert not re.search(r"(?<!\\)[:$]", escaped), escaped  # no directive, no math delimiter left bare


def test_the_word_joiner_sits_inside_the_patterns_only() -> None:
    assert md_escape(f"{BAIT}/b") == f"http\\:{WORD_JOINER}//127.0.0.1\\:9/b"
    assert md_escape("me@x.org www.a.cn") == f"me@{WORD_JOINER}x.org www{WORD_JOINER}.a.cn"
    assert md_escape(":material/home:") == f"\\:{WORD_JOINER}material/home\\:"
    assert md_escape("Qwen2.5-7B 患者") == "Qwen2.5-7B 患者"  # ordinary names and Chinese text are untouched
    assert md_escape(12) == "12" and md_escape(None) == "None"


def test_plotly_text_shows_tags_literally() -> None:
    assert plotly_escape(f"<a href='{BAIT}'>x</a> & <b>") == f"&lt;a href='{BAIT}'&gt;x&lt;/a&gt; &amp; &lt;b&gt;"
