"""The translation table (common/translations.toml) is complete: every key in every language with the same
placeholders, every key a page asks for exists, every task, dimension and built-in column has its names; and the
pages render in each language."""
from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from common import i18n
from common.i18n import LANGUAGES, browser_language, t, table, task_label, tn
from evaluator.benchmark.tasks import TASKS, Dimension
from leaderboard.columns import COLUMNS, column_help, column_title

from .conftest import page

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "leaderboard").rglob("*.py")), *sorted((ROOT / "common").rglob("*.py")),
           *sorted((ROOT / "submissions" / "pages").glob("*.py")), *sorted((ROOT / "evaluator" / "pages").glob("*.py"))]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_every_language_and_the_same_placeholders():
    problems = []
    for key, texts in table().items():
        if missing := [lang for lang in LANGUAGES if not isinstance(texts.get(lang), str) or not texts[lang]]:
            problems.append(f"{key} lacks {', '.join(missing)}")
        elif extra := set(texts) - set(LANGUAGES):
            problems.append(f"{key} has unknown languages {sorted(extra)}")
        elif len({frozenset(placeholders(texts[lang])) for lang in LANGUAGES}) > 1:
            problems.append(f"{key}: the languages name different placeholders")
    assert not problems, problems


def test_a_key_without_a_language_fails_the_check(tmp_path, monkeypatch):
    """The check above can fail: a table whose key lacks English is reported."""
    broken = tmp_path / "translations.toml"
    broken.write_text('[nav]\nleaderboard = { zh = "排行榜" }\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "TABLE_PATH", broken)
    i18n.table.cache_clear()
    try:
        with pytest.raises(AssertionError, match="nav.leaderboard lacks en"):
            test_every_key_has_every_language_and_the_same_placeholders()
    finally:
        i18n.table.cache_clear()


def used_keys(path: Path) -> list[tuple[str, int]]:
    """Literal keys passed to t(...) / tn(...) in a source file, with their line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "tn")
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.args[0].value, node.lineno))
    return found


def test_every_key_a_page_uses_is_in_the_table():
    keys = {(path.relative_to(ROOT), key, line) for path in SOURCES for key, line in used_keys(path)}
    assert len(keys) > 50  # the scan finds the pages' keys
    missing = [f"{path}:{line}: {key}" for path, key, line in sorted(keys) if key not in table()]
    assert not missing, missing


def test_tasks_dimensions_and_columns_have_their_names_in_both_languages():
    for lang in LANGUAGES:
        for name in TASKS:
            assert task_label(name, lang) != name, f"task {name} has no {lang} name"
        for dimension in ["overall", *Dimension]:
            assert t(f"dim.{dimension}.short", lang) and t(f"dim.{dimension}.long", lang)
        for column in COLUMNS.values():
            assert f"col.{column.key}.title" in table() or f"dim.{column.key}.short" in table(), column.label
            assert column_title(column, lang) and column_help(column, lang), column.label
    assert task_label("CMeEE", "zh") == "CMeEE 医学实体识别"


def test_counts_choose_the_singular_where_english_has_one():
    assert tn("lb.suite_models", 1, "en") == "1 model" and tn("lb.suite_models", 3, "en") == "3 models"
    assert tn("lb.suite_models", 3, "zh") == "3 个模型"


@pytest.mark.parametrize(("locale", "header", "expected"), [
    ("zh-CN", None, "zh"), ("zh-TW", None, "zh"), ("en-US", None, "en"), ("de-DE", None, "en"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"), (None, "en-GB,en;q=0.9", "en"), (None, None, "zh"), ("", "", "zh"),
])
def test_the_default_language_follows_the_browser(locale, header, expected):
    assert browser_language(locale, header) == expected


def test_no_page_file_mixes_a_key_into_an_f_string_of_english():
    """Keys are looked up whole: a key built with an f-string other than task./dim./col. lookups would escape the
    check above."""
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\btn?\(f[\"']([^\"']*)", source):
            assert match.group(1).split(".")[0] in {"task", "dim", "col", "rule", "extract_rule"}, \
                f"{path}: {match.group(0)}"


def test_every_error_rule_and_extractor_rule_is_described_in_both_languages():
    """Methodology shows the taxonomy's and the answer extractor's rules with their descriptions translated
    (rule.<name>, extract_rule.<name>): a rule added to the registry without its text fails here."""
    from evaluator.benchmark.scoring import extract
    from evaluator.benchmark.taxonomy import RULES

    missing = [f"rule.{r.name}" for r in RULES if f"rule.{r.name}" not in table()]
    missing += [f"extract_rule.{name}" for name, _ in extract.RULES if f"extract_rule.{name}" not in table()]
    assert not missing, missing


@pytest.mark.parametrize(("lang", "title", "header"), [
    ("zh", "MedBench 中文医疗大模型评测榜", "排名所用评测集"),
    ("en", "MedBench Leaderboard · 中文医疗大模型评测榜", "Ranked on suite"),
])
def test_leaderboard_renders_in_each_language(world, lang, title, header):
    app = page("leaderboard", lang=lang)
    assert not app.exception
    assert app.title[0].value == title
    assert any(m.value.startswith(header) for m in app.markdown)
    assert app.text_input(key="q").label == t("lb.search", lang)
    config = json.loads(app.dataframe[0].proto.columns)  # headers shown in the language; the ids stay
    assert config["Params"]["label"] == t("col.params.title", lang) == {"zh": "参数量", "en": "Params"}[lang]
    assert "Params" in app.dataframe[0].value.columns


@pytest.mark.parametrize(("lang", "title", "heading"), [
    ("zh", "评测方法", "维度与任务"), ("en", "Methodology", "Dimensions and tasks"),
])
def test_methodology_renders_in_each_language(engine, lang, title, heading):
    app = page("methodology", lang=lang)
    assert not app.exception
    assert app.title[0].value.startswith(title)
    assert app.header[0].value == heading
    rules = next(tb.value for tb in app.table if t("th.What triggers it", lang) in tb.value.columns)
    assert t("rule.garbled", lang) in set(rules[t("th.What triggers it", lang)])  # the describing column too


def test_active_filters_are_said_in_chinese(world):
    app = page("leaderboard", lang="zh", hide_flagged="true", size=["9–15B"], view="Reasoning")
    assert not app.exception
    assert "当前筛选：规模 9–15B · 已隐藏被标记的模型 · 视图 推理" in [c.value for c in app.caption]


def test_model_page_tables_and_cards_in_chinese_keep_english_ids(world):
    """Headers and labels are translated; the frames' column names (ids of exports and tests) stay English."""
    app = page("model", lang="zh", model="zhyi/clinic-14b", tab="Reproducibility")
    assert not app.exception
    assert any(c.value.startswith("作答方式：**generate**（官方") for c in app.caption)
    card = app.dataframe[0]
    assert list(card.value.columns) == ["Fact", "Value"]
    assert json.loads(card.proto.columns)["Fact"]["label"] == "项目"
    assert {"来源", "版本（提交 SHA）", "随机种子"} <= set(card.value["Fact"])
    assert "**复现**" in [m.value for m in app.markdown]
    scores = page("model", lang="zh", model="zhyi/clinic-14b")
    tasks = next(d for d in scores.dataframe if "Chance · pass line" in d.value.columns)
    assert json.loads(tasks.proto.columns)["Chance · pass line"]["label"] == "随机水平 · 及格线"
    assert "随机 0.200 · 及格 0.600" in set(tasks.value["Chance · pass line"])


def test_every_table_header_is_translated_or_an_id():
    assert i18n.th("Score [95% CI]", "zh") == "得分 [95% CI]" and i18n.th("acme/med-7b", "zh") == "acme/med-7b"
    config = i18n.table_headers(["Task", "x"], {"Task": {"help": "h"}}, lang="zh")
    assert config == {"Task": {"help": "h", "label": "任务"}}
