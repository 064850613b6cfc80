"""Every public page under streamlit.testing's AppTest, on a real SQLite database: empty states, URL state,
bad input, a model opened by URL, compare and methodology."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bench.seed_results import ModelProfile, add_model, new_run, seed_run_results
from common.db import session_scope
from evaluator.ops.review import record_review
from evaluator.tables import ItemResult, SuiteItem, TaskScore
from submissions.tables import ModelEntry
from leaderboard import cache
from common.i18n import t as translate
from sqlmodel import select
from streamlit.testing.v1 import AppTest
from tests.leaderboard.conftest import PAGES, page
from tests.pages import shown


def texts(elements) -> list[str]:  # type: ignore[no-untyped-def]
    """What the visitor reads in these elements (escaped user text unescaped)."""
    return [shown(e.value) for e in elements]


def table(app, index: int = 0):  # type: ignore[no-untyped-def]
    return app.dataframe[index].value


# ---------------------------------------------------------------- empty states
@pytest.mark.parametrize("name", ["leaderboard", "model", "compare"])
def test_pages_say_there_are_no_results_yet(engine, name):
    app = page(name)
    assert not app.exception
    assert any("No results yet" in text for text in texts(app.info))
    assert len(app.dataframe) == 0


def test_model_page_on_an_empty_database_says_the_model_is_unknown(engine):
    app = page("model", model="org/model")
    assert not app.exception
    assert texts(app.error) == ["There is no public model named 'org/model'. Check the spelling (org/name) or search "
                                "the leaderboard."]


def test_methodology_without_reviews(engine):
    app = page("methodology")
    assert not app.exception
    assert any("No reviews yet" in text for text in texts(app.info))
    tasks, formulas, _extractor_rules, _examples, rules = (t.value for t in app.table[:5])  # static tables wrap
    assert len(tasks) == 20 and tasks.loc["DrugCA", "Instruction (zero-shot)"]  # every task, whole instruction
    assert "micro_f1" in formulas.index and "2·TP" in formulas.loc["micro_f1", "Formula"]
    from evaluator.benchmark.scoring import all_metrics  # each formula is the metric's own text, choice metrics too

    assert formulas["Formula"].to_dict() == {name: m.formula for name, m in all_metrics().items()}
    assert list(rules.columns) == ["Rule", "Category", "What triggers it", "Also unscored", "Hard case"]
    assert rules.iloc[0].tolist()[:2] == ["empty_output", "Unanswered"]
    assert rules.iloc[0]["What triggers it"].startswith("the output is empty or whitespace")
    page_text = " ".join(texts(app.markdown) + texts(app.code))
    assert "``" not in page_text and ":mod:" not in page_text  # no raw docstring
    assert "[arXiv 2407.10990](https://arxiv.org/abs/2407.10990)" in page_text
    assert any("not for clinical decisions" in text for text in texts(app.error) + texts(app.warning))
    assert any(translate("col.rank.help", "en") in text for text in texts(app.markdown))


def test_methodology_explains_the_answer_extractor_with_live_examples_and_measured_agreement(engine):
    from evaluator.benchmark.scoring.extract import CORPUS_AGREEMENT, RULES

    app = page("methodology")
    assert not app.exception
    rules, examples = app.table[2].value, app.table[3].value
    assert list(rules["Rule"]) == [name for name, _ in RULES]
    read = dict(zip(examples["Output"], examples["Read as"]))
    assert read["答案：Ｂ"] == "B" and read["答案：A或B"] == "— (several_answers)"
    assert read["T波高尖、ST段抬高，需急查ECG和CT。"] == "— (no_answer)"  # terms and acronyms are no letters
    assert read["考虑心绞痛，建议挂心血管内科。"] == "心血管内科"
    measured = next(t for t in texts(app.markdown) if t.startswith("**Measured.**"))
    assert f"{CORPUS_AGREEMENT['extractor']:.1%}" in measured and f"{CORPUS_AGREEMENT['opencompass_choice']:.1%}" in measured
    assert "OpenCompass" in measured


# ---------------------------------------------------------------- leaderboard
def test_leaderboard_ranks_visible_models_with_flags_and_unscored_note(world):
    app = page("leaderboard")
    assert not app.exception
    shown = table(app)
    assert len(shown) == 7 and shown["#"].iloc[0] == 1  # ranks follow intervals (test_ranking), not the order
    assert any(translate("col.rank.help", "en") in t for t in texts(app.markdown))  # the rank rule is stated above the table
    assert "gone/hidden-7b" not in set(shown["Model"])
    flags = dict(zip(shown["Model"], shown["Flags"]))
    assert flags["⚠ sus/leaky-3b"].startswith("⚠ flagged: test items found")  # marked in the default columns
    assert flags["tiny/demo-random"] == "demo model"
    assert list(shown.columns)[:4] == ["#", "Model", "Open", "Overall"]
    assert "Robustness" in shown.columns  # the overall figure; a dimension view names its own
    assert shown["Open"].iloc[0].startswith("model?model=")
    assert any("20 items without a reference answer are unscored" in t for t in texts(app.markdown))
    assert [b.label for b in app.get("download_button")] == ["Export CSV", "Export JSON"]


def test_leaderboard_view_comes_from_the_url(world):
    app = page("leaderboard", q="license:mit", ci="true", cols=["Knowledge", "License"])
    shown = table(app)
    assert sorted(shown["Model"]) == ["zhyi/clinic-14b", "⚠ sus/leaky-3b"]
    assert list(shown.columns) == ["#", "Model", "Open", "Overall", "Knowledge", "License"]
    assert all("[" in value for value in shown["Overall"])
    assert "Active filters: search “license:mit”" in texts(app.caption)
    app = page("leaderboard", hide_flagged="true", size=["9–15B", "1–4B"])
    assert sorted(table(app)["Model"]) == ["open/base-1.5b", "zhyi/clinic-14b"]
    # a view restored from a shared link says what it filters
    assert "Active filters: size 9–15B, 1–4B · flagged models hidden" in texts(app.caption)
    app = page("leaderboard", view="Reasoning", sort_reasoning="DDx-basic", asc="true")
    shown = table(app)
    assert list(shown.columns) == ["#", "Model", "Open", "Reasoning", "Reasoning strict accuracy",
                                   "Reasoning robustness", "DDx-basic", "DDx-advanced", "CMB-Clin", "MedTreat", "n",
                                   "Tokens/answer", "Flags"]
    values = shown["DDx-basic"].tolist()
    assert values == sorted(values)
    for column in ("Reasoning", "Reasoning robustness", "DDx-basic", "CMB-Clin"):  # one format: 0.600, never 0.6 or 0
        assert all(re.fullmatch(r"[01]\.\d{3}", v) for v in shown[column]), shown[column].tolist()
    app = page("leaderboard", sort="Model")
    assert table(app)["Model"].iloc[0] == "zhyi/clinic-14b"


def test_leaderboard_search_box_narrows_the_table(world):
    app = page("leaderboard")
    app.text_input(key="q").input("acme precision:fp16").run()
    assert table(app)["Model"].tolist() == ["acme/med-7b-chat"]
    app.toggle(key="ci").set_value(True).run()
    assert "[" in table(app)["Overall"].iloc[0]


def test_leaderboard_bad_input_is_explained_and_changes_nothing(world):
    app = page("leaderboard", q="licence:mit")
    assert texts(app.error) == ["Unknown filter 'licence:'. Use license:, type:, precision:, size:, flagged:, demo:, "
                                "source: or plain words that match model names. The table below is not filtered by the search."]
    assert len(table(app)) == 7
    app = page("leaderboard", q="size:huge")
    assert texts(app.error)[0].endswith(", >15B, unknown. The table below is not filtered by the search.")
    app = page("leaderboard", q="license:apache type:medical size:<10")  # README's example
    assert sorted(table(app)["Model"]) == ["acme/med-7b-chat (bfloat16)", "acme/med-7b-chat (float16)"]
    app = page("leaderboard", size="huge")
    assert any("Ignored unknown value 'huge' for 'size'" in t for t in texts(app.warning))
    assert len(table(app)) == 7
    app = page("leaderboard", q="nothing-matches-this")
    assert any("No model matches" in t for t in texts(app.info))


def test_leaderboard_refreshes_when_a_run_finishes(engine, world):
    assert "late/arrival" not in set(table(page("leaderboard"))["Model"])
    with session_scope(engine) as session:
        model = add_model(session, ModelProfile("late/arrival", skill=0.99))
        run = new_run(session, model, world.suite, finished_at=world.runs["sus/leaky-3b@bfloat16"].finished_at
                      + timedelta(days=1))
        seed_run_results(session, run, world.items, ModelProfile("late/arrival", skill=0.99))
    cache._version.clear()  # what the version's few-second time-to-live does; the tables stay cached
    shown = table(page("leaderboard"))
    assert "late/arrival" in set(shown["Model"]) and len(shown) == 8


# ---------------------------------------------------------------- model page
def test_model_opened_by_url_id(world):
    model = world.models["zhyi/clinic-14b@bfloat16"]
    app = page("model", model=str(model.id))
    assert not app.exception
    assert texts(app.title) == ["zhyi/clinic-14b"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Scored items (n)"] == "40"
    assert re.fullmatch(r"0\.\d{3}", metrics["Overall score"])
    assert re.fullmatch(r"0\.\d{3}", metrics["Robustness"])
    assert metrics["Suite"] == world.suite.name  # the version goes in a caption: a metric cuts long values
    assert f"version {world.suite.version[:12]}" in texts(app.caption)
    assert any(re.fullmatch(r"95% CI \[0\.\d{3}, [01]\.\d{3}\]", t) for t in texts(app.caption))
    assert any("unscored" in t for t in texts(app.caption))
    assert not app.expander and not app.code  # only the open tab (Scores) is drawn: the others run when opened
    app = page("model", model=str(model.id), tab="Robustness")
    choice_rows = next(d.value for d in app.dataframe if "Strict accuracy" in d.value.columns)
    assert choice_rows["Dimension"].iloc[0] == "All choice questions"  # not "Overall": that is the headline score
    assert "Overall" not in set(choice_rows["Dimension"])
    assert len(page("model", model=str(model.id), tab="Questions").expander) == 10  # the browser's first page
    codes = texts(page("model", model=str(model.id), tab="Reproducibility").code)
    assert any(model.commit_sha in c and "cli.py eval run" in c for c in codes)


def test_model_page_task_table_gives_chance_and_pass_line(world):
    app = page("model", model="zhyi/clinic-14b")
    tasks = next(d.value for d in app.dataframe if "Chance · pass line" in d.value.columns).set_index("Task")
    assert tasks.loc["Med-Exam", "Chance · pass line"] == "chance 0.200 · pass 0.600"  # five options, 360/600
    assert tasks.loc["DrugCA", "Chance · pass line"] == "chance 0.500"
    assert tasks.loc["DDx-basic", "Chance · pass line"] == "chance 0.032"  # 1/31: one of 31 non-empty sets
    assert tasks.loc["MedHC", "Chance · pass line"] == "—"
    assert any(t.startswith("Marks: Chance: the expected score of a random guesser") for t in texts(app.caption))


def test_model_page_shows_the_model_facts_escaped_with_a_safe_link(engine, world):
    model_id = world.models["zhyi/clinic-14b@bfloat16"].id
    with session_scope(engine) as session:
        model = session.get(ModelEntry, model_id)
        model.card_data = {**model.card_data, "facts": {
            "organisation": "[点我](https://evil.example)", "base_model": ["Qwen/Qwen2.5-14B"],
            "finetune": "adapter (LoRA/PEFT)", "languages": ["zh"], "link": "https://arxiv.org/abs/2407.10990",
            "context_length": 32768}}
    app = page("model", model=str(model_id))
    line = next(m.value for m in app.markdown if "organisation" in m.value)
    assert "](" not in line.replace("\\](", "")  # no Markdown link survives
    assert shown(line) == ("organisation **[点我](https://evil.example)** · base model **Qwen/Qwen2.5-14B** · "
                           "fine-tuning **adapter (LoRA/PEFT)** · languages **zh** · context **32,768 tokens**")
    (button,) = app.get("link_button")
    assert button.proto.url == "https://arxiv.org/abs/2407.10990"
    with session_scope(engine) as session:  # a stored non-https link is never offered
        model = session.get(ModelEntry, model_id)
        model.card_data = {**model.card_data, "facts": {**model.card_data["facts"], "link": "javascript:alert(1)"}}
    cache.st.cache_data.clear()
    assert not page("model", model=str(model_id)).get("link_button")


def test_model_page_explains_a_position_only_yes_no_score(engine, world):
    run_id = world.runs["tiny/demo-random@float32"].id
    with session_scope(engine) as session:
        row = session.scalars(select(TaskScore).where(TaskScore.run_id == run_id, TaskScore.task == "DrugCA")).one()
        row.score, row.ci_low, row.ci_high = 0.5, 0.5, 0.5
    app = page("model", model="tiny/demo-random")
    assert any(t.startswith("DrugCA: Yes/no tasks (DrugCA) ask every question under both option orders")
               for t in texts(app.caption))
    app = page("model", model="tiny/demo-random", tab="Robustness")
    assert any("Each series sums to 100%" in t for t in texts(app.caption))  # the position-bias chart


def test_model_opened_by_hub_id_shows_flag_and_questions_filtered_by_url(world):
    app = page("model", model="sus/leaky-3b", qo="wrong", qd="Reasoning", tab="Questions")
    assert not app.exception
    assert any("Flagged by the organizers: test items found in training data" in t for t in texts(app.warning))
    labels = [e.label for e in app.expander]
    assert labels and all(label.startswith("✗") for label in labels)
    assert {label.split(" · ")[1] for label in labels} <= {"DDx-basic", "DDx-advanced", "CMB-Clin", "MedTreat"}


def test_model_page_question_browser_pages(world):
    app = page("model", model="tiny/demo-random", tab="Questions")
    assert any("Demo model" in t for t in texts(app.info))
    first = [e.label for e in app.expander]
    app.get("pagination")[0].set_value(2).run()
    second = [e.label for e in app.expander]
    assert first and second and not set(first) & set(second)
    assert any("page 2 of 6" in t for t in texts(app.caption))


def test_question_browser_filters_interact_and_bad_url_values_are_explained(world):
    app = page("model", model="sus/leaky-3b", qd="Reasoning", qt="DDx-basic", tab="Questions")
    assert {e.label.split(" · ")[1] for e in app.expander} == {"DDx-basic"}
    app.selectbox(key="qd").select("safety").run()  # the task no longer fits: back to all tasks of Safety
    assert app.selectbox(key="qt").value == "all"
    assert {e.label.split(" · ")[1] for e in app.expander} == {"MedSafety", "DrugCA"}
    app = page("model", model="sus/leaky-3b", qo="maybe", qtag="Typos", tab="Questions")
    warnings = texts(app.warning)
    assert any("Ignored unknown value 'maybe' for 'qo'" in w for w in warnings)
    assert any(w.endswith("accepted: all, right, wrong, unscored.") for w in warnings)  # "all" named once
    assert any("Ignored unknown value 'Typos' for 'qtag'" in w for w in warnings)
    assert len(app.expander) == 10  # unfiltered


def test_question_list_shows_the_question_and_extraction_answers_as_tables(engine, world):
    app = page("model", model="zhyi/clinic-14b", qt="CMeEE", tab="Questions")
    assert not app.exception
    with session_scope(engine) as session:
        first = session.scalars(select(SuiteItem).where(SuiteItem.suite_id == world.suite.id,
                                                        SuiteItem.task == "CMeEE").order_by(SuiteItem.id)).first()
    label = shown(app.expander[0].label)
    assert label.startswith(f"{label[0]} {first.item_key} · CMeEE · ")
    assert label.endswith(" · " + first.data["question"][:40] + "…")
    gold = app.table[0].value  # the reference answer: rows of entity and type, not JSON
    assert list(gold.columns) == ["entity", "type"]
    assert gold.to_dict("records") == first.data["answer"]
    column = "Error tag (how it was made)"
    tags = [t for d in app.dataframe if column in d.value.columns for t in d.value[column] if t]
    assert tags and all(t.endswith(" (rule:seed)") for t in tags)


def test_record_answers_read_as_fields_and_undecodable_bytes_show_once(engine, world):
    run_id = world.runs["zhyi/clinic-14b@bfloat16"].id
    with session_scope(engine) as session:
        rows = session.scalars(select(ItemResult).where(ItemResult.run_id == run_id, ItemResult.task == "DBMHG")
                               .order_by(ItemResult.item_id)).all()
        rows[0].parsed_answer = {"主诉": "胸痛3天", "现病史": "活动后加重"}
        rows[0].raw_output = "主诉：胸痛3天\n诊断\ufffd\ufffd\ufffd"
        if len(rows) > 1:
            rows[1].parsed_answer = {}
    app = page("model", model="zhyi/clinic-14b", qt="DBMHG", tab="Questions")
    assert not app.exception
    answers = [a for d in app.dataframe if "Answer (original options)" in d.value.columns
               for a in d.value["Answer (original options)"]]
    assert "主诉: 胸痛3天; 现病史: 活动后加重" in answers and "{}" not in answers
    assert "— (nothing read)" in answers or len(rows) == 1
    codes = texts(app.code)
    assert "主诉：胸痛3天\n诊断\\ufffd×3" in codes and not any("\ufffd" in c for c in codes)


def test_a_letter_scored_answer_says_no_text_was_generated(engine, world):
    run_id = world.runs["zhyi/clinic-14b@bfloat16"].id
    with session_scope(engine) as session:  # as a real run stores choice rows: letter scores, no output text
        rows = session.scalars(select(ItemResult).where(ItemResult.run_id == run_id)).all()
        for row in rows:
            if row.letter_scores and session.get(SuiteItem, row.item_id).task == "Med-Exam":
                row.raw_output = None
    app = page("model", model="zhyi/clinic-14b", qt="Med-Exam", tab="Questions")
    assert not app.exception
    assert translate("card.letter_scored", "en") in texts(app.caption)
    assert "(empty)" not in texts(app.code) and "Raw output:" not in texts(app.caption)


def test_model_page_unknown_and_not_yet_evaluated(world):
    assert "There is no public model with id 999999." in texts(page("model", model="999999").error)
    hidden = world.models["gone/hidden-7b@bfloat16"]
    assert any("no public model" in t for t in texts(page("model", model=str(hidden.id)).error))
    app = page("model", model="queue/not-yet-run")
    assert any("no finished evaluation on the active suite yet" in t for t in texts(app.info))


def test_model_page_without_a_model_offers_a_choice(world):
    app = page("model")
    assert not app.exception
    assert texts(app.title) == ["Model · 模型详情"]
    assert "Choose a model below, or open one from the Leaderboard." in texts(app.markdown)
    choice = app.selectbox(key="pick_model")
    assert len(choice.options) == 7
    choice.select("#1 sus/leaky-3b (bfloat16)").run()
    assert texts(app.title) == ["sus/leaky-3b"]


# ---------------------------------------------------------------- compare
def test_compare_two_models_from_the_url(world):
    a, b = world.models["acme/med-7b-chat@bfloat16"], world.models["open/base-1.5b@bfloat16"]
    app = page("compare", models=[str(a.id), "open/base-1.5b"])
    assert not app.exception
    assert app.multiselect(key="compare_models").value == [str(a.id), str(b.id)]
    dims, tasks = table(app, 0), table(app, 1)
    assert len(dims) == 6 and len(tasks) == 20
    assert texts(app.title) == ["Compare models · 模型对比"]
    assert list(dims.columns) == ["Dimension", "acme/med-7b-chat (bfloat16)", "open/base-1.5b"]  # names, no ranks
    assert [c for c in tasks.columns if c.startswith("Δ")] == ["Δ open/base-1.5b"]
    assert all(re.fullmatch(r"[+-][01]\.\d{3}", d) for d in tasks["Δ open/base-1.5b"])
    radar = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in radar["data"]] == ["acme/med-7b-chat (bfloat16)", "open/base-1.5b"]
    assert app.expander and all("✓" in e.label and "✗" in e.label for e in app.expander)


def test_compare_explains_bad_choices(world):
    app = page("compare", models=["nobody/none", "open/base-1.5b"])
    assert any("left out: nobody/none" in t for t in texts(app.warning))
    assert any("Choose two to four models" in t for t in texts(app.info))
    ids = [str(m.id) for k, m in world.models.items() if k in world.runs and not m.hidden][:5]
    app = page("compare", models=ids)
    assert any("At most 4 models" in t for t in texts(app.warning))
    assert len(app.multiselect(key="compare_models").value) == 4


def test_compare_with_one_finished_model_says_so(engine, world):
    with session_scope(engine) as session:
        for key, model in world.models.items():
            session.get(ModelEntry, model.id).hidden = key != "zhyi/clinic-14b@bfloat16"
    app = page("compare")
    assert not app.exception
    assert texts(app.info) == ["Only one model has results yet (zhyi/clinic-14b): models can be compared once a "
                               "second evaluation finishes. Its own page shows it in full."]
    assert not app.get("multiselect")


# ---------------------------------------------------------------- methodology
def test_methodology_shows_tag_agreement_once_reviewed(engine, world):
    run_id = world.runs["zhyi/clinic-14b@bfloat16"].id
    with session_scope(engine) as session:
        tagged = session.scalars(select(ItemResult).where(ItemResult.run_id == run_id,
                                                          ItemResult.error_primary.is_not(None))).all()[:4]
        for row in tagged[:3]:
            record_review(session, row.id)  # accepted
        record_review(session, tagged[3].id, human_primary="Unanswered" if tagged[3].error_primary != "Unanswered"
                      else "Omissions")
    app = page("methodology")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Reviewed tags"] == "4" and metrics["Observed agreement"] == "75.0%"
    assert metrics["Cohen's κ"] == "not enough reviews yet (4 of 30)"


def test_empty_leaderboard_names_the_evaluations_in_progress(engine):
    """A first visitor while the demo models run should learn that results are coming, and where to watch."""
    from tests.submissions.factories import add_run, add_submission

    running = add_submission(engine, None, state="running")
    add_run(engine, running, done=10, total=100, eta=300)
    add_submission(engine, None, state="approved")
    app = page("leaderboard")
    assert not app.exception
    assert any("1 evaluation running and 1 waiting" in text for text in texts(app.info))


def test_demo_models_are_announced_above_the_ranking(world):
    app = page("leaderboard")
    demo_notes = [text for text in texts(app.info) if "demo model" in text]
    assert demo_notes and demo_notes[0].startswith("1 of these models is a demo model")
    app = page("leaderboard", q="demo:no")
    assert "tiny/demo-random" not in set(table(app)["Model"])


def test_run_spec_paths_and_hosts_are_shown_to_organizers_only(engine, world):
    from evaluator.tables import EvalRun
    from submissions.tables import User

    model = world.models["zhyi/clinic-14b@bfloat16"]
    with session_scope(engine) as session:
        run = session.get(EvalRun, world.runs["zhyi/clinic-14b@bfloat16"].id)
        run.run_spec = {**run.run_spec, "local_path": "/srv/secret-models/clinic"}
        run.environment = {**run.environment, "platform": "Linux-6.1.0-secret-kernel", "distributed": {
            "executor": "ray", "actors": 2, "nodes": ["gpu-node-7.internal"]}}
        organizer = User(username="orga", is_organizer=True)
        session.add(organizer)
        session.flush()
        organizer_id = organizer.id

    def shown(app) -> str:  # type: ignore[no-untyped-def]
        return " ".join(str(j.value) for j in app.json) + " ".join(texts(app.code))

    public = page("model", model=str(model.id), tab="Reproducibility")
    assert not public.exception
    visible = shown(public)
    assert "/srv/secret-models" not in visible and "secret-kernel" not in visible and "gpu-node-7" not in visible
    assert '"actors": 2' in visible and "zhyi/clinic-14b" in visible  # the rest of the card stays public
    headings = " ".join(texts(public.markdown))
    assert "Run spec: what determines the numbers" in headings and "Execution spec: how it ran" in headings

    app = AppTest.from_file(str(PAGES / "model.py"), default_timeout=30)  # signed in as an organizer
    app.query_params["model"] = str(model.id)
    app.query_params["tab"] = "Reproducibility"
    app.session_state["user_id"] = organizer_id
    app.run()
    visible = shown(app)
    assert "/srv/secret-models" in visible and "secret-kernel" in visible and "gpu-node-7" in visible
