"""``cli.py eval run`` through typer's real command line: a local folder and a hub id (hub stand-in)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from evaluator.ops.cli import app
from evaluator.tables import EvalRun
from submissions.tables import ModelEntry
from tests.evaluator_core.helpers import make_suite, single_items, yes_no_items
from tests.hub_stub import serve_hub


@pytest.fixture
def hub(monkeypatch):
    yield from serve_hub(monkeypatch)


@pytest.fixture
def suite(engine, tmp_path):
    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", yes_no_items("AB") + single_items("ABC"))
        suite.active = True
        session.add(suite)
        session.commit()
        return suite


def test_run_local_folder_writes_database_and_json(engine, suite, tmp_path, tiny_models):
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["run", "--model", str(tiny_models["letter_a"]), "--json", str(out),
                                      "--tasks", "DrugCA,Med-Exam", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "DrugCA" in result.output and "50.0%" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["run_spec"]["k"] == 3 and len(data["items"]) == 2 * 2 + 3 * 3
    with Session(engine) as session:
        run = session.exec(select(EvalRun)).one()
        model = session.get(ModelEntry, run.model_id)
    assert run.status == "finished" and run.submission_id is None
    assert model.local_path == str(tiny_models["letter_a"].resolve()) and not model.is_demo


def test_run_hub_id_downloads_the_pinned_commit(engine, suite, hub, tmp_path, tiny_models):
    sha = hub.add_repo("org/tiny-random", tiny_models["random"])
    result = CliRunner().invoke(app, ["run", "--model", "org/tiny-random", "--json", str(tmp_path / "r.json"),
                                      "--limit", "1"])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        model = session.exec(select(ModelEntry)).one()
        run = session.exec(select(EvalRun)).one()
    assert model.commit_sha == sha and model.local_path is None
    assert run.run_spec["revision"] == sha and run.status == "finished"


@pytest.mark.parametrize("args,message", [
    (["--model", "/no/such/folder"], "neither a model folder nor a hub id"),
    (["--model", "org/missing"], "cannot resolve org/missing@main"),
    (["--model", "{random}", "--tasks", "MedHC"], "not in suite"),
    (["--model", "{random}", "--suite", "nope"], "no suite named 'nope'"),
])
def test_bad_arguments_get_one_clear_line(engine, suite, hub, tiny_models, args, message):
    args = [a.format(random=tiny_models["random"]) for a in args]
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code != 0
    assert message in result.output
    with Session(engine) as session:
        assert session.exec(select(EvalRun)).all() == []
