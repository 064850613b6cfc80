"""What a model emits is always storable, and re-scoring keeps what a judge said.

A real tiny model whose every next token is the byte 0x00: PostgreSQL text columns refuse NUL, so the run must
store U+FFFD in its place (and the taxonomy then sees garbage, as it should)."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evaluator.benchmark.items import Item
from evaluator.engine.execution import execute_run
from evaluator.engine.scoring import score_run
from evaluator.engine.units import create_run
from evaluator.tables import ItemResult
from evaluator.engine.tiny_models import build_tiny_model
from tests.evaluator_core.helpers import make_model, make_suite

TRIAGE = Item(id="hg-1", task="MedHG", question="胸痛两小时，伴大汗。应就诊哪个科室？", answer=["心内科"],
              other={"candidates": ["心内科", "骨科", "眼科"]})


def _run(engine, tmp_path, model_folder) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", [TRIAGE])
        run = create_run(session, make_model(session, model_folder, "nul"), suite, device="cpu")
        session.commit()
        return run.id


def test_nul_bytes_from_a_model_are_stored_on_both_databases(any_engine, tmp_path) -> None:
    folder = build_tiny_model(tmp_path / "nul-model", "letter", letter="\x00")
    run_id = _run(any_engine, tmp_path, folder)
    execute_run(run_id, engine=any_engine)
    score_run(run_id, engine=any_engine)
    with Session(any_engine) as s:
        rows = s.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
    assert rows and all(r.status == "ok" for r in rows)
    assert all("\x00" not in r.raw_output and "\ufffd" in r.raw_output for r in rows)
    assert all(r.correct is False and r.error_primary for r in rows)


def test_rescoring_keeps_judge_verdicts(engine, tmp_path, tiny_models) -> None:
    run_id = _run(engine, tmp_path, tiny_models["letter_a"])
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    verdict = {"model": "judge-x", "covered": [True]}
    with Session(engine) as s:
        row = s.exec(select(ItemResult).where(ItemResult.run_id == run_id)).first()
        row.details = {**row.details, "judge": verdict}
        s.add(row)
        s.commit()
        row_id = row.id
    score_run(run_id, engine=engine)
    with Session(engine) as s:
        assert s.get(ItemResult, row_id).details["judge"] == verdict


def test_tensor_parallel_is_part_of_the_execution_spec_and_needs_vllm(engine, tmp_path, tiny_models) -> None:
    from evaluator.engine.runners import ModelLoadError
    from evaluator.tables import EvalRun

    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", [TRIAGE])
        model = make_model(session, tiny_models["random"], "tp")
        default = create_run(session, model, suite, device="cpu")
        split = create_run(session, model, suite, device="cpu", tensor_parallel=2)
        session.commit()
        ids = default.id, split.id
    with Session(engine) as session:
        assert [session.get(EvalRun, i).execution_spec["tensor_parallel"] for i in ids] == [1, 2]
        assert "tensor_parallel" not in session.get(EvalRun, ids[1]).run_spec  # how it runs, not its numbers
    with pytest.raises(ModelLoadError, match="tensor parallelism needs the vLLM backend"):
        execute_run(ids[1], engine=engine)
