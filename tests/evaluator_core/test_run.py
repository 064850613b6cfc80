"""Runs end to end on SQLite and PostgreSQL with real tiny models: the permutation bookkeeping gives the known
accuracy / strict / robustness / position-bias figures; runs resume, stop, survive bad items, fail plainly."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from evaluator.engine.execution import RunStopped, execute_run

from evaluator.engine.scoring import export_run, score_run

from evaluator.engine.spec import RunSpecError

from evaluator.engine.units import create_run
from evaluator.engine.runners import ModelLoadError
from evaluator.tables import DimensionScore, EvalRun, ItemResult, SuiteItem, TaskScore
from tests.evaluator_core.content_model import MARKER, build_content_model, content_items
from tests.evaluator_core.helpers import ddx_items, make_model, make_suite, single_items, yes_no_items


@pytest.fixture(scope="session")
def content_model(tmp_path_factory) -> Path:
    return build_content_model(tmp_path_factory.mktemp("content") / "aspirin", steps=300)


def new_run(engine, tmp_path, items, model_folder, name="m", **overrides) -> int:
    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", items)
        model = make_model(session, model_folder, name)
        run = create_run(session, model, suite, **overrides)
        session.commit()
        return run.id


def rows_of(engine, run_id: int, task: str | None = None) -> list[ItemResult]:
    with Session(engine) as session:
        query = select(ItemResult).where(ItemResult.run_id == run_id)
        if task:
            query = query.where(ItemResult.task == task)
        return list(session.exec(query.order_by(ItemResult.item_id, ItemResult.order_index)).all())


def task_score(engine, run_id: int, task: str) -> TaskScore:
    with Session(engine) as session:
        return session.exec(select(TaskScore).where(TaskScore.run_id == run_id, TaskScore.task == task)).one()


def test_always_letter_a_model_gives_the_known_figures(any_engine, tmp_path, tiny_models):
    items = yes_no_items("ABAB") + single_items("ABCDEA") + ddx_items([["A"], ["B", "C"]])
    run_id = new_run(any_engine, tmp_path, items, tiny_models["letter_a"], protocol="logprob")
    execute_run(run_id, engine=any_engine)
    score_run(run_id, engine=any_engine)

    # yes/no: both orders; A under the original order, the other option under the swapped one
    yes_no = task_score(any_engine, run_id, "DrugCA")
    assert yes_no.score == 0.5 and yes_no.n_items == 4 and yes_no.n_scored == 4
    assert yes_no.extras["strict_accuracy"] == 0.0 and yes_no.extras["robustness"] == 0.0
    assert yes_no.extras["orders_per_item"] == 2
    assert yes_no.extras["position_bias"] == {"A": {"chosen": 1.0, "correct": 0.5}, "B": {"chosen": 0.0, "correct": 0.5}}

    # single choice: the model's answer is whatever option each order shows first
    rows = rows_of(any_engine, run_id, "Med-Exam")
    assert len(rows) == 30 and {r.order_index for r in rows} == set(range(5))
    answers = dict(zip(range(6), "ABCDEA"))
    by_item: dict[int, list[ItemResult]] = {}
    for row in rows:
        by_item.setdefault(row.item_id, []).append(row)
        assert row.parsed_answer == [row.permutation[0]] and row.details["chosen_shown"] == ["A"]
        assert row.prompt.endswith("答案：") and "A. " in row.prompt
    expected_rows = [r.permutation[0] == answers[i] for i, rs in enumerate(by_item.values()) for r in rs]
    expected_strict = [all(r.permutation[0] == answers[i] for r in rs) for i, rs in enumerate(by_item.values())]
    expected_robust = [len({r.permutation[0] for r in rs}) == 1 for rs in by_item.values()]
    exam = task_score(any_engine, run_id, "Med-Exam")
    assert exam.score == pytest.approx(sum(expected_rows) / 30)
    assert exam.extras["strict_accuracy"] == pytest.approx(sum(expected_strict) / 6)
    assert exam.extras["robustness"] == pytest.approx(sum(expected_robust) / 6)
    assert exam.extras["position_bias"]["A"]["chosen"] == 1.0
    assert sum(v["correct"] for v in exam.extras["position_bias"].values()) == pytest.approx(1.0)
    assert exam.ci_low <= exam.score <= exam.ci_high

    # multi-choice is generated: "AAAA..." is the letter-only answer {A}
    ddx = rows_of(any_engine, run_id, "DDx-basic")
    assert all(r.raw_output.startswith("A") and r.details["chosen_shown"] == ["A"] for r in ddx)
    ddx_score = task_score(any_engine, run_id, "DDx-basic")
    assert "jaccard" in ddx_score.extras

    with Session(any_engine) as session:
        dims = {d.dimension: d for d in session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id))}
        run = session.get(EvalRun, run_id)
    assert set(dims) == {"safety", "knowledge", "reasoning", "overall"}
    assert dims["safety"].accuracy == 0.5 and dims["safety"].robustness == 0.0
    assert dims["overall"].score == pytest.approx((dims["safety"].score + dims["knowledge"].score
                                                   + dims["reasoning"].score) / 3)
    assert dims["overall"].extras["dimensions_missing"] == ["generation", "understanding"]
    assert run.progress_done == run.progress_total == 4 * 2 + 6 * 5 + 2 * 5
    assert run.environment["torch"] and run.environment["dtype"] == "float32"
    assert run.environment["runner_counters"]["forward_passes"] > 0
    assert run.environment["chunk_items"] == 16  # the spec leaves it unset: the CPU default
    assert run.run_spec["k"] == 5 and run.run_spec["prompt_template_version"]


def test_always_same_content_model_is_robust_whatever_the_order(engine, tmp_path, content_model):
    items = content_items(12, seed=5, marker_share=0.5)
    marker_answers = [i.options[i.answer[0]] == MARKER for i in items]
    assert 0 < sum(marker_answers) < 12
    run_id = new_run(engine, tmp_path, items, content_model, use_chat_template=False, protocol="logprob")
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    rows = rows_of(engine, run_id)
    assert all(r.prompt.endswith("答案：") and "<|im_start|>" not in r.prompt for r in rows)
    chosen = [r.details["chosen_shown"][0] for r in rows]
    assert len(set(chosen)) == 4  # the letter moves with the content...
    with Session(engine) as session:
        options = {r.item_id: session.get(SuiteItem, r.item_id).data["options"] for r in rows}
    assert all(options[r.item_id][r.parsed_answer[0]] == MARKER for r in rows)
    score = task_score(engine, run_id, "Med-Exam")
    share = sum(marker_answers) / 12
    assert score.extras["robustness"] == 1.0  # ...and the mapped-back answer never does
    assert score.score == pytest.approx(share) and score.extras["strict_accuracy"] == pytest.approx(share)
    bias = score.extras["position_bias"]
    assert sum(b["chosen"] for b in bias.values()) == pytest.approx(1.0)


def test_stop_and_resume_never_doubles_rows(any_engine, tmp_path, tiny_models):
    run_id = new_run(any_engine, tmp_path, single_items("ABCDEABCDE"), tiny_models["random"], chunk_items=3)

    def stop_after_first_chunk():
        return "cancelled" if rows_of(any_engine, run_id) else None

    with pytest.raises(RunStopped, match="cancelled"):
        execute_run(run_id, engine=any_engine, should_stop=stop_after_first_chunk)
    assert len(rows_of(any_engine, run_id)) == 15  # one chunk of 3 items x 5 orders was committed
    with Session(any_engine) as session:
        assert session.get(EvalRun, run_id).progress_done == 15
    seen = []
    execute_run(run_id, engine=any_engine, on_progress=lambda done, total: seen.append((done, total)))
    rows = rows_of(any_engine, run_id)
    assert len(rows) == 50 and len({(r.item_id, r.order_index) for r in rows}) == 50
    assert seen[-1] == (50, 50) and seen[0][0] > 15
    execute_run(run_id, engine=any_engine)  # nothing left: no model load, no new rows
    assert len(rows_of(any_engine, run_id)) == 50


def test_a_cancel_stops_generation_between_decoding_steps(engine, tmp_path, tiny_models):
    """One chunk of 20 generations: the cancel is seen at the third check (chunk start, batch start, first
    decoding step), not after the chunk, and the interrupted chunk stores nothing."""
    run_id = new_run(engine, tmp_path, ddx_items([["A"], ["B"], ["C"], ["D"]]), tiny_models["random"])
    calls = []

    def cancel_at_third_check():
        calls.append(1)
        return "cancelled" if len(calls) >= 3 else None

    with pytest.raises(RunStopped, match="cancelled"):
        execute_run(run_id, engine=engine, should_stop=cancel_at_third_check)
    assert len(calls) == 3 and rows_of(engine, run_id) == []
    execute_run(run_id, engine=engine)  # resumes from nothing and finishes
    assert len(rows_of(engine, run_id)) == 20


def test_a_bad_item_is_marked_and_the_run_goes_on(engine, tmp_path, tiny_models):
    items = single_items("AB")
    items.append(items[0].model_copy(update={"id": "huge", "question": "患者" * 5000}))
    run_id = new_run(engine, tmp_path, items, tiny_models["random"], protocol="logprob")
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    rows = rows_of(engine, run_id)
    bad = [r for r in rows if r.status == "error"]
    assert len(bad) == 5 and all("context" in r.error_message for r in bad)
    assert all(r.status == "ok" and r.letter_scores for r in rows if r not in bad)
    assert all(r.correct is False for r in bad)  # a failed row never counts as right
    assert task_score(engine, run_id, "Med-Exam").n_items == 3


def test_model_that_cannot_load_fails_with_its_reason(engine, tmp_path):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    run_id = new_run(engine, tmp_path, single_items("A"), empty)
    with pytest.raises(ModelLoadError, match="cannot load model"):
        execute_run(run_id, engine=engine)
    assert rows_of(engine, run_id) == []


def test_bad_run_settings_are_refused_and_write_nothing(engine, tmp_path, tiny_models):
    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", single_items("A"))
        model = make_model(session, tiny_models["random"], "r")
        for overrides, message in [({"k": 0}, "k"), ({"colour": "red"}, "unknown setting 'colour'"),
                                   ({"tasks": ["DDx-basic"]}, "not in suite"), ({"dtype": "int4"}, "dtype"),
                                   ({"tasks": "Med-Exam"}, "non-empty list")]:
            with pytest.raises(RunSpecError, match=message):
                create_run(session, model, suite, **overrides)
        session.commit()
        assert session.exec(select(func.count()).select_from(EvalRun)).one() == 0


def test_score_run_is_idempotent_and_export_holds_everything(engine, tmp_path, tiny_models):
    run_id = new_run(engine, tmp_path, yes_no_items("AB") + single_items("CD"), tiny_models["random"])
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    first = {t.task: (t.score, t.ci_low, t.ci_high) for t in [task_score(engine, run_id, "DrugCA"),
                                                               task_score(engine, run_id, "Med-Exam")]}
    score_run(run_id, engine=engine)
    with Session(engine) as session:
        scores = session.exec(select(TaskScore).where(TaskScore.run_id == run_id)).all()
        assert {t.task: (t.score, t.ci_low, t.ci_high) for t in scores} == first
        assert session.exec(select(func.count()).select_from(DimensionScore)).one() == 3
    out = export_run(run_id, tmp_path / "run.json", engine=engine)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["run_spec"]["suite_version"] and data["environment"]["transformers"]
    assert "backend" not in data["run_spec"] and data["execution_spec"]["backend"] == "auto"  # the two parts, apart
    assert set(data["spec_parts"]) == {"run_spec", "execution_spec"}
    assert data["spec_parts"]["run_spec"].startswith("determines the numbers")
    assert len(data["items"]) == 2 * 2 + 2 * 5 and data["items"][0]["prompt"]
    assert {t["task"] for t in data["task_scores"]} == {"DrugCA", "Med-Exam"}


def test_cloze_and_text_tasks_run_with_their_orders_and_a_scoring_bug_stays_on_its_item(engine, tmp_path, tiny_models):
    from evaluator.benchmark.items import Item

    cloze = Item(id="hg-1", task="MedHG", question="胸痛三小时，伴大汗。", answer=["心内科"],
                 other={"candidates": ["心内科", "骨科", "眼科", "皮肤科"]})
    record = Item(id="mrg-1", task="IMCS-V2-MRG", passage="患者：咳嗽三天。医生：发热吗？患者：不发热。",
                  question="请生成医疗报告。", answer={"主诉": "咳嗽三天", "诊断": "上呼吸道感染"})
    run_id = new_run(engine, tmp_path, [cloze, record, *single_items("A")], tiny_models["random"])
    execute_run(run_id, engine=engine)
    rows = rows_of(engine, run_id)
    by_task = {t: [r for r in rows if r.task == t] for t in ("MedHG", "IMCS-V2-MRG", "Med-Exam")}
    assert len(by_task["MedHG"]) == 5 and len(by_task["IMCS-V2-MRG"]) == 1
    assert len({tuple(r.permutation) for r in by_task["MedHG"]}) == 5
    assert all("候选项：" + "、".join(r.permutation) in r.prompt for r in by_task["MedHG"])
    assert all(r.raw_output is not None and not r.letter_scores for r in by_task["MedHG"] + by_task["IMCS-V2-MRG"])
    with Session(engine) as session:  # the stored record answer turns malformed: its metric raises
        item = session.get(SuiteItem, by_task["IMCS-V2-MRG"][0].item_id)
        item.data = {**item.data, "answer": "不是字段"}
        session.add(item)
        session.commit()
    score_run(run_id, engine=engine)
    assert task_score(engine, run_id, "MedHG").n_items == 1
    assert "robustness" in task_score(engine, run_id, "MedHG").extras
    mrg = task_score(engine, run_id, "IMCS-V2-MRG")
    assert mrg.extras["scoring_errors"] == 1 and mrg.score is None
    assert "scoring_error" in rows_of(engine, run_id, "IMCS-V2-MRG")[0].details
    assert task_score(engine, run_id, "Med-Exam").score is not None


def test_garbage_scores_mark_the_items_and_the_run_goes_on(engine, tmp_path, tiny_models):
    """A real model whose output layer holds NaN: every letter score is NaN, every row is marked, nothing crashes."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    broken = tmp_path / "nan-model"
    model = AutoModelForCausalLM.from_pretrained(tiny_models["random"])
    with torch.no_grad():
        model.lm_head.weight[:, :4] = float("nan")
    model.save_pretrained(broken)
    AutoTokenizer.from_pretrained(tiny_models["random"]).save_pretrained(broken)
    run_id = new_run(engine, tmp_path, single_items("AB"), broken, protocol="logprob")
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)
    rows = rows_of(engine, run_id)
    assert len(rows) == 10 and all(r.status == "error" and "non-finite" in r.error_message for r in rows)
    assert all(r.correct is False and r.letter_scores["A"] == "nan" for r in rows)
    assert task_score(engine, run_id, "Med-Exam").score == 0.0


def test_an_unset_chunk_size_follows_the_device():
    from evaluator.engine.spec import BatchPolicy

    assert BatchPolicy().chunk_items_on("cpu:x86_64") == 16
    assert BatchPolicy().chunk_items_on("cuda:NVIDIA H100 80GB HBM3") == 256
    assert BatchPolicy(chunk_items=3).chunk_items_on("cuda:NVIDIA H100 80GB HBM3") == 3
