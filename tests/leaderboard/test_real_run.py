"""The pages on what the real evaluator writes: the bundled demo suite, a real tiny model, execute_run and
score_run, then the leaderboard, the model page and its question browser (contract check between packages)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from common.db import session_scope
from common.timeutil import utcnow
from evaluator.engine.execution import execute_run
from evaluator.engine.scoring import score_run
from evaluator.engine.units import create_run
from evaluator.benchmark.suites.importer import import_suite
from evaluator.tables import DimensionScore, EvalRun
from evaluator.engine.tiny_models import folder_sha
from leaderboard import ranking
from leaderboard.model_report import model_report
from submissions.tables import ModelEntry
from tests.leaderboard.conftest import ROOT, page

DEMO_SUITE = ROOT / "evaluator" / "benchmark" / "suites" / "demo"
TASKS_RUN = ["Med-Exam", "MedHG", "MedDG", "CHIP-CTC", "CHIP-CDN", "DDx-basic", "DDx-advanced", "MedSafety", "DrugCA"]


@pytest.fixture
def evaluated(engine, tiny_models) -> int:  # type: ignore[no-untyped-def]
    """One finished run of the always-'A' tiny model on the first item of nine demo tasks (every short-answer
    kind; no generation task, so the overall score is over four dimensions)."""
    folder: Path = tiny_models["letter_a"]
    with Session(engine) as session:
        suite = import_suite(session, DEMO_SUITE, "demo", activate=True, visibility="public")
        model = ModelEntry(hub_id="local/letter_a", commit_sha=folder_sha(folder), precision="float32",
                           local_path=str(folder), is_demo=True, params=200_000)
        session.add(model)
        session.flush()
        run_id = create_run(session, model, suite, limit_per_task=1, tasks=TASKS_RUN).id
        session.commit()
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    with session_scope(engine) as session:
        run = session.get(EvalRun, run_id)
        run.status, run.finished_at = "finished", utcnow()
    return run_id


def test_real_results_rank_and_open(engine, evaluated):
    with session_scope(engine) as session:
        frame = ranking.leaderboard_frame(session)
        overall = session.scalars(select(DimensionScore).where(DimensionScore.run_id == evaluated,
                                                               DimensionScore.dimension == "overall")).one()
        report = model_report(session, "local/letter_a")
    assert frame["run_id"].tolist() == [evaluated]
    assert frame["overall"].iloc[0] == pytest.approx(overall.score)
    assert report.run["run_spec"]["k"] == 5 and "--k 5" in report.run["command"]
    assert set(report.tasks["task"]) == set(TASKS_RUN)
    assert report.missing_dimensions == ["generation"]

    app = page("leaderboard")
    assert not app.exception and app.dataframe[0].value["Model"].tolist() == ["local/letter_a"]
    app = page("model", model="local/letter_a", tab="Questions")
    assert not app.exception
    assert any("Demo model" in i.value for i in app.info)
    assert len(app.expander) == 9
    assert any("Overall averages 4 of the 5 dimensions" in c.value for c in app.caption)
    assert any("答案" in c.value or "A." in c.value for c in app.code)  # the exact prompts are shown
    app = page("model", model="local/letter_a", qo="wrong", qd="Safety", tab="Questions")
    assert not app.exception and all(e.label.startswith("✗") for e in app.expander)
