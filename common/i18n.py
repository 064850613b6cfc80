"""The site's two languages: one translation table (``common/translations.toml``), :func:`t` to read it, and the
中文 / English switch.

Why here: the navigation (app.py), the public pages of ``leaderboard`` and ``submissions`` all show translated
text, and ``common`` is the one package they may all import.

The language of a page view is, in order: the URL's ``?lang=zh|en`` (the switch writes it), the session's last
choice (``st.session_state["lang"]``), then the browser's language (``st.context.locale``, else the
Accept-Language header): Chinese when it starts with ``zh``, English for any other stated language, and Chinese
when the client states none (the site is Chinese-first). app.py keeps ``?lang=`` in every URL, so a shared link
opens in the language it was copied in.

Translations are trusted text (Markdown allowed); values passed to :func:`t` as format arguments are not escaped
here: text from users or models must go through ``common.display.md_escape`` first, as everywhere.
URL values (``?view=``, ``?cols=``, sort keys) and export headers are not translated, so a link or a file means
the same in either language.
"""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import streamlit as st

LANGUAGES = ("zh", "en")  # the switch's order: Chinese first
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"  # when the browser states no language
LANG_KEY = "lang"  # the URL parameter and the session-state key of the chosen language
SWITCH_KEY = "lang_switch"  # the switch widget's key
TABLE_PATH = Path(__file__).with_name("translations.toml")


def _flatten(node: dict[str, Any], prefix: str, out: dict[str, dict[str, str]]) -> None:
    """Dotted keys of the leaves: a leaf is a table whose keys include a language (``{zh = .., en = ..}``)."""
    for name, value in node.items():
        key = f"{prefix}{name}"
        if not isinstance(value, dict):
            raise ValueError(f"{TABLE_PATH.name}: {key} is not a table of languages")
        if any(lang in value for lang in LANGUAGES):
            out[key] = value
        else:
            _flatten(value, f"{key}.", out)


@cache
def table() -> dict[str, dict[str, str]]:
    """Every key of the translation table -> {language: text} (read once per process)."""
    out: dict[str, dict[str, str]] = {}
    _flatten(tomllib.loads(TABLE_PATH.read_text(encoding="utf-8")), "", out)
    return out


def browser_language(locale: str | None, accept_language: str | None = None) -> str:
    """'zh' or 'en' from the browser's language tag (``navigator.language``), else the first tag of an
    Accept-Language header; :data:`DEFAULT_LANGUAGE` when neither states one."""
    tag = (locale or "").strip() or (accept_language or "").split(",")[0].split(";")[0].strip()
    if not tag:
        return DEFAULT_LANGUAGE
    return "zh" if tag.lower().startswith("zh") else "en"


def _browser_default() -> str:
    try:
        header = st.context.headers.get("Accept-Language")
    except Exception:  # no request behind this run (bare script, some test runners): nothing stated
        header = None
    return browser_language(st.context.locale, header)


def current_language() -> str:
    """The language of this page view: the URL's ``?lang=``, the session's choice, then the browser's language."""
    for value in (st.query_params.get(LANG_KEY), st.session_state.get(LANG_KEY)):
        if value in LANGUAGES:
            return str(value)
    return _browser_default()


def t(key: str, /, lang: str | None = None, **fmt: Any) -> str:
    """The text of ``key`` in ``lang`` (default: :func:`current_language`), formatted with ``fmt`` when given
    (``{name}`` placeholders; escape user text before passing it). An unknown key raises KeyError: a typo fails
    the page's test instead of showing a key."""
    text = table()[key][lang or current_language()]
    return text.format(**fmt) if fmt else text


def tn(key: str, n: int, /, lang: str | None = None, **fmt: Any) -> str:
    """:func:`t` for a count ``n`` (passed on as ``{n}``): the key's ``_one`` variant when ``n`` is 1 and the
    table has one ("1 model" / "2 models"; Chinese needs none, so its ``_one`` text repeats the other)."""
    one = f"{key}_one"
    return t(one if n == 1 and has(one) else key, lang, n=n, **fmt)


def has(key: str) -> bool:
    """Whether ``key`` is in the table (for names registered at run time, which may have no translation)."""
    return key in table()


def task_name(name: str, lang: str | None = None) -> str:
    """A task's name without its code: '医学实体识别' / 'medical NER'; "" for a task registered at run time
    without a translation."""
    key = f"task.{name}"
    return t(key, lang) if has(key) else ""


def task_label(name: str, lang: str | None = None) -> str:
    """A task's code with its name beside it: 'CMeEE 医学实体识别' (中文) or 'CMeEE medical NER' (English), the
    bare code for a task registered at run time without a translation."""
    return f"{name} {named}" if (named := task_name(name, lang)) else name


def th(name: str, lang: str | None = None) -> str:
    """A table column's header in the page's language (key ``th.<name>``); ``name`` itself, the column's id in the
    data, exports and tests, when the table has no translation for it (model names, dimension names)."""
    key = f"th.{name}"
    return t(key, lang) if has(key) else name


def table_headers(columns: Iterable[str], config: dict[str, Any] | None = None,
                  lang: str | None = None) -> dict[str, Any]:
    """A ``column_config`` for ``st.dataframe`` that shows every column with a ``th.`` key under its translated
    header, keeping what ``config`` sets for it (help, width, link, and a label of its own where an id means
    something else in that table): the frame's column names stay the English ids, so a table reads the same to
    code, exports and tests in either language."""
    out = dict(config or {})
    for name in columns:
        given = dict(out.get(name) or {})
        if has(f"th.{name}") and not given.get("label"):
            out[name] = {**given, "label": th(name, lang)}
    return out


def _switched() -> None:
    """The switch's callback (runs before the rerun): the choice goes into the URL and the session."""
    choice = st.session_state.get(SWITCH_KEY)
    if choice in LANGUAGES:
        st.query_params[LANG_KEY] = choice
        st.session_state[LANG_KEY] = choice


def language_switch() -> str:
    """The 中文 / English switch in the sidebar (app.py draws it on every page, before the navigation). The
    language is written into the URL on every run, so it survives the navigation (which drops query parameters
    that no widget of the new page is bound to) and a copied link opens in it; a session opened without
    ``?lang=`` starts in the browser's language. Returns the language of this run.

    Why not ``bind="query-params"``: a bound widget writes its formatted option ("English"), not the code, and
    leaves its default value out of the URL."""
    lang = current_language()
    st.session_state[LANG_KEY] = lang
    if st.query_params.get(LANG_KEY) != lang:
        st.query_params[LANG_KEY] = lang
    st.session_state[SWITCH_KEY] = lang
    st.sidebar.segmented_control("语言 · Language", LANGUAGES, format_func=LANGUAGE_NAMES.__getitem__,
                                 key=SWITCH_KEY, on_change=_switched, required=True)
    return lang
