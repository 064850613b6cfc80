"""Served (API) models end to end: an organizer adds one (the real ``openai`` client against an OpenAI-compatible
stand-in on 127.0.0.1 answering with a tiny model), the worker evaluates it like any model, injected 429s, 5xx,
timeouts and a dropped connection change no stored row, tokens and cost are counted, and the API key appears
nowhere: not in the database file, the logs, the export or an error message."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

import leaderboard.cache  # noqa: F401  (the package first on sys.path: AppTest puts the page's folder there)

from evaluator.engine.execution import execute_run

from evaluator.engine.scoring import export_run, score_run

from evaluator.engine.spec import RunSpecError

from evaluator.engine.units import create_run
from evaluator.ops.worker import Worker
from evaluator.tables import EvalRun, ItemResult, Suite
from submissions.accounts import NotAuthorized, create_user
from submissions.served import ServedModelError, add_served_model
from submissions.tables import AuditLog, ModelEntry
from tests.openai_stub import OpenAIStub
from tests.served.conftest import STUB_MODEL
from tests.worker.factories import add_suite, demo_items, runs_of, submission_state, worker_settings

ROOT = Path(__file__).resolve().parents[2]
ROW_FIELDS = ("prompt", "raw_output", "reasoning", "generation", "letter_scores", "parsed_answer", "correct", "score",
              "status", "error_message")
PRICES = {"price_input_per_1m": 2.0, "price_output_per_1m": 8.0, "currency": "CNY"}


def served_rows(engine, submission_id: int) -> tuple[EvalRun, dict[tuple[int, int], dict]]:
    (run,) = runs_of(engine, submission_id)
    with Session(engine) as session:
        rows = session.exec(select(ItemResult).where(ItemResult.run_id == run.id)).all()
    return run, {(r.item_id, r.order_index): {f: getattr(r, f) for f in ROW_FIELDS} for r in rows}


def open_public_page(name: str, **query: str | list[str]) -> AppTest:
    """A public page (leaderboard/pages) run once with ``query`` in its URL, in English (the texts asserted)."""
    st.cache_data.clear()
    app = AppTest.from_file(str(ROOT / "leaderboard" / "pages" / f"{name}.py"), default_timeout=30)
    app.query_params["lang"] = "en"
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    return app


def page_source(app: AppTest) -> str:
    """Everything the page sent to the browser: every element's message, tables' cells included."""
    parts: list[str] = []

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return "\n".join(parts)


def database_bytes(settings) -> bytes:  # type: ignore[no-untyped-def]
    """Every byte SQLite holds on disk for this database (main file, WAL, journal)."""
    base = Path(settings.data_dir) / "medbench.db"
    return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal"), Path(f"{base}-journal")) if p.exists())


def test_served_model_is_evaluated_by_the_worker_and_faults_change_no_row(engine, api_settings, stub, api_key,
                                                                        caplog, tmp_path) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the openai client's and httpx's included
    add_suite(engine, demo_items("Med-Exam", 2) + demo_items("DDx-basic", 2))  # letter-scored and generated
    clean = add_served_model(None, endpoint=stub.url, model_name=STUB_MODEL, key_name="STUB",
                             label="vendor/served-clean", decoding=PRICES, engine=engine)
    worker = Worker(engine, worker_settings(), owner="w-api")
    worker.drain()

    faulty = add_served_model(None, endpoint=stub.url, model_name=STUB_MODEL, key_name="STUB",
                              label="vendor/served-faults", decoding=PRICES, engine=engine)
    faults = ["429", "500", "timeout", "drop", "503", "429", "timeout"]
    stub.inject(*faults)
    worker.drain()

    assert stub.served_faults == faults  # every fault was met, and retried past
    clean_run, clean_rows = served_rows(engine, clean.submission_id)
    faulty_run, faulty_rows = served_rows(engine, faulty.submission_id)
    for run, sub in ((clean_run, clean.submission_id), (faulty_run, faulty.submission_id)):
        assert run.status == "finished" and submission_state(engine, sub) == "finished"
        assert run.run_spec["source"] == "api" and run.run_spec["served"]["model_name"] == STUB_MODEL
        assert run.environment["backend"] == "openai"
    assert clean_run.protocol == "generate"  # the official protocol: every answer written, then extracted
    assert len(clean_rows) == 2 * 5 + 2 * 5
    assert all(row["status"] == "ok" for row in clean_rows.values())
    assert not any(row["letter_scores"] for row in clean_rows.values())
    assert all(row["generation"]["finish_reason"] in ("stop", "length") and row["generation"]["tokens"] > 0
               for row in clean_rows.values())
    assert any(row["raw_output"] for row in clean_rows.values())
    assert faulty_rows == clean_rows

    usage = clean_run.environment["api_usage"]
    assert usage["requests"] == len(clean_rows) and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost"] == round((usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 8.0) / 1e6, 6)
    assert usage["currency"] == "CNY"
    assert faulty_run.environment["api_usage"] == usage  # failed attempts carry no usage: the same bill

    # the key was really sent (so searching for it means something), and is nowhere else
    assert stub.auth_headers and set(stub.auth_headers) == {f"Bearer {api_key}"}
    export = export_run(clean_run.id, tmp_path / "export.json", engine=engine).read_text(encoding="utf-8")
    assert "STUB" in export and STUB_MODEL in export  # the key's name and the endpoint's model name are kept
    engine.dispose()
    assert api_key.encode() not in database_bytes(api_settings)
    assert "Retrying request" in caplog.text  # the client's own retries logged: the logs searched are real
    assert api_key not in caplog.text and api_key not in export
    with Session(engine) as session:
        audit = session.exec(select(AuditLog).where(AuditLog.action == "add_served_model")).all()
    assert len(audit) == 2 and audit[0].after["key_name"] == "STUB" and audit[0].actor_name == "CLI"

    # on the site: ranked with their source marked, searchable by source, and the key on no page
    board = open_public_page("leaderboard", cols=["Source", "Flags"])
    shown = board.dataframe[0].value
    assert set(shown["Model"]) == {"vendor/served-clean", "vendor/served-faults"}
    assert set(shown["Source"]) == {"api"} and set(shown["Flags"]) == {"API: not pinned to a revision"}
    assert len(open_public_page("leaderboard", q="source:api").dataframe[0].value) == 2
    hub_only = open_public_page("leaderboard", q="source:hf")
    assert not hub_only.dataframe or hub_only.dataframe[0].value.empty
    model_page = open_public_page("model", model=str(clean.model_id), tab="Reproducibility")  # tabs draw lazily
    assert any("API: not pinned to a revision" in w.value for w in model_page.warning)
    card = next(d.value for d in model_page.dataframe if "Fact" in d.value.columns).set_index("Fact")["Value"]
    assert card["Source"] == "API" and card["Revision (commit SHA)"].startswith("API: not pinned to a revision")
    assert "re-scored" in card["Reproducible"] and "may give other answers" in card["Reproducible"]
    assert any("add-served-model" in c.value and STUB_MODEL in c.value for c in model_page.code)
    for app in (board, model_page):
        text = page_source(app)
        assert api_key not in text
        assert stub.url not in text  # the organizers' endpoint stays off public pages

    # the same endpoint under `logprob` (after the pages: this run is not scored): the single-choice task's letters
    # are read from the endpoint's top log-probs
    with Session(engine) as session:
        suite = session.get(Suite, session.exec(select(func.max(Suite.id))).one())
        letter_run = create_run(session, session.get(ModelEntry, clean.model_id), suite, protocol="logprob")
        session.commit()
        letter_run_id = letter_run.id
    execute_run(letter_run_id, engine=engine)
    with Session(engine) as session:
        letter_rows = session.exec(select(ItemResult).where(ItemResult.run_id == letter_run_id)).all()
    assert len(letter_rows) == len(clean_rows) and all(r.status == "ok" for r in letter_rows)
    assert {r.task for r in letter_rows if r.letter_scores} == {"Med-Exam"}
    assert all(r.raw_output for r in letter_rows if r.task == "DDx-basic")


def test_an_endpoint_without_top_logprobs_runs_under_generate_and_is_refused_only_logprob(engine, api_settings,
                                                                                          tiny_models,
                                                                                          api_key) -> None:
    stub = OpenAIStub.start(tiny_models["random"], STUB_MODEL, api_key, logprobs=False)
    try:
        added = add_served_model(None, endpoint=stub.url, model_name=STUB_MODEL, key_name="STUB", engine=engine)
        assert "generate protocol only" in added.message
        add_suite(engine, demo_items("Med-Exam", 1) + demo_items("DDx-basic", 1))
        probed = len(stub.bodies)  # the probe at adding asked for log-probs (and learnt there are none)
        Worker(engine, worker_settings(), owner="w-api").drain()  # the official protocol needs no log-probs
        assert submission_state(engine, added.submission_id) == "finished"
        run, rows = served_rows(engine, added.submission_id)
        assert run.protocol == "generate" and len(rows) == 5 + 5
        assert all(r["status"] == "ok" and r["raw_output"] is not None and not r["letter_scores"]
                   for r in rows.values())
        assert len(stub.bodies) > probed and not any(body.get("logprobs") for body in stub.bodies[probed:])

        with Session(engine) as session:  # asked for letter scoring, it is refused with its reason
            model = session.get(ModelEntry, added.model_id)
            suite = session.get(Suite, session.exec(select(func.max(Suite.id))).one())
            runs_before = session.exec(select(func.count()).select_from(EvalRun)).one()
            with pytest.raises(RunSpecError, match="returns no top log-probs") as err:
                create_run(session, model, suite, protocol="logprob")
            assert "Med-Exam" in str(err.value) and "DDx-basic" not in str(err.value)
            assert api_key not in str(err.value) and "\n" not in str(err.value)
            assert session.exec(select(func.count()).select_from(EvalRun)).one() == runs_before
            run = create_run(session, model, suite, protocol="logprob", tasks=["DDx-basic"])  # generated anyway
            session.commit()
            run_id = run.id
        execute_run(run_id, engine=engine)
        with Session(engine) as session:
            rows = session.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
        assert len(rows) == 5 and all(r.status == "ok" and r.raw_output is not None for r in rows)
    finally:
        stub.stop()


@pytest.mark.parametrize("change, message", [
    ({"endpoint": "ftp://example.com/v1"}, "must be an http(s) URL"),
    ({"endpoint": "https://user:secret@example.com/v1"}, "may not carry credentials"),
    ({"endpoint": "https://example.com/v1?key=abc"}, "may not carry credentials"),
    ({"model_name": "not-served"}, "does not serve a model named 'not-served'"),
    ({"key_name": "MISSING"}, "no API key named MISSING: set MEDBENCH_API_KEY_MISSING"),
    ({"key_name": "bad name!"}, "letters, digits and _"),
    ({"label": "\x07bell"}, "printable"),
    ({"decoding": {"temperature": 5}}, "temperature"),
    ({"decoding": {"price_input_per_1m": -1}}, "price_input_per_1m"),
    ({"decoding": {"max_tokens": 10}}, "max_tokens"),
])
def test_bad_served_model_inputs_get_one_line_and_change_nothing(engine, api_settings, stub, change, message) -> None:
    values = {"endpoint": stub.url, "model_name": STUB_MODEL, "key_name": "STUB", **change}
    with pytest.raises(ServedModelError) as err:
        add_served_model(None, engine=engine, **values)
    assert message in str(err.value) and "\n" not in str(err.value)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ModelEntry)).one() == 0


def test_unreachable_endpoint_wrong_key_and_non_organizers_are_refused_in_words(engine, api_settings, stub, api_key,
                                                                               monkeypatch) -> None:
    with pytest.raises(ServedModelError, match="could not be reached"):
        add_served_model(None, endpoint="http://127.0.0.1:9/v1", model_name=STUB_MODEL, engine=engine)
    monkeypatch.setenv("MEDBENCH_API_KEY_WRONG", "sk-wrong-" + api_key[-8:])
    with pytest.raises(ServedModelError, match="refused the API key") as err:
        add_served_model(None, endpoint=stub.url, model_name=STUB_MODEL, key_name="WRONG", engine=engine)
    assert "sk-wrong" not in str(err.value) and api_key not in str(err.value)
    user = create_user("plain-user", "a-long-and-strong-passphrase-42", engine=engine)
    with pytest.raises(NotAuthorized):
        add_served_model(user.id, endpoint=stub.url, model_name=STUB_MODEL, key_name="STUB", engine=engine)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ModelEntry)).one() == 0


THOUGHT = "先看主诉与体征，再逐一排除各个选项。"


@pytest.mark.parametrize("style", ["field", "inline"])
def test_a_served_reasoning_model_keeps_its_reasoning_apart_counts_it_and_reads_a_cut_answer_as_truncated(
        engine, api_settings, tiny_models, api_key, style) -> None:
    """``field``: the endpoint returns ``reasoning_content`` and counts reasoning tokens in its usage (vLLM with a
    reasoning parser, DeepSeek); ``inline``: ``<think>…</think>`` in the answer and no count (the engine estimates
    from the generated tokens: a served model's "tokenizer" cannot tokenize)."""
    stub = OpenAIStub.start(tiny_models["random"], STUB_MODEL, api_key, thinking=(style, THOUGHT))
    try:
        added = add_served_model(None, endpoint=stub.url, model_name=STUB_MODEL, key_name="STUB", engine=engine)
        add_suite(engine, demo_items("Med-Exam", 2) + demo_items("DDx-basic", 1))
        with Session(engine) as session:
            suite = session.get(Suite, session.exec(select(func.max(Suite.id))).one())
            run = create_run(session, session.get(ModelEntry, added.model_id), suite, thinks=True, reasoning_budget=8,
                             chat_template_kwargs={"enable_thinking": True})
            session.commit()
            run_id = run.id
        execute_run(run_id, engine=engine)
        score_run(run_id, engine=engine)
        with Session(engine) as session:
            rows = session.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
        thought_tokens = len(stub.chat.tokenizer(THOUGHT, add_special_tokens=False)["input_ids"])
        assert len(rows) == 3 * 5 and all(r.status == "ok" for r in rows)
        # the template argument travelled as chat_template_kwargs in the request body (vLLM and SGLang read it)
        assert all(body["chat_template_kwargs"] == {"enable_thinking": True} for body in stub.bodies[1:])
        for row in rows:
            assert row.reasoning == THOUGHT and THOUGHT not in row.raw_output and "think>" not in row.raw_output
            facts = row.generation
            assert facts["reasoning_closed"] is True and facts["tokens"] > thought_tokens
            if style == "field":  # the endpoint's own count
                assert facts["reasoning_tokens"] == thought_tokens and "reasoning_tokens_estimated" not in facts
            else:  # the reasoning's share of the generated tokens, marked as estimated
                assert 0 < facts["reasoning_tokens"] < facts["tokens"] and facts["reasoning_tokens_estimated"] is True
        # the budget ran out ("length") on choice answers with no answer first: read as truncated, not as no answer
        cut = [r for r in rows if r.task == "Med-Exam" and r.generation["finish_reason"] == "length"
               and r.parsed_answer is None]
        assert cut and all(r.details["extraction"] == "truncated" and r.correct is False for r in cut)
    finally:
        stub.stop()
