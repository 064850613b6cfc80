"""The ``generate`` protocol end to end, with real tiny chat models that always write a known text
(evaluator.engine.tiny_models.build_script_model): answers extracted from text and mapped back through every option
order, a reasoning model's reasoning stored apart, reasoning that never ends tagged Output Error (truncated),
empty output, refusal and several letters tagged as the taxonomy says, and early stop that reads the same."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from evaluator.engine.execution import execute_run

from evaluator.engine.scoring import score_run

from evaluator.engine.spec import RunSpec

from evaluator.engine.units import create_run
from evaluator.engine.runners.base import GenerationRequest
from evaluator.engine.runners.transformers_backend import TransformersRunner
from evaluator.benchmark.scoring.extract import answer_settled, extract
from evaluator.tables import DimensionScore, EvalRun, TaskScore
from evaluator.engine.tiny_models import build_script_model
from submissions.tables import ModelEntry
from tests.evaluator_core.helpers import make_model, single_items, yes_no_items
from tests.evaluator_core.test_run import new_run, rows_of, task_score

SCRIPTS = {
    "writes_b": ("答案：B", {}),
    "thinks_c": ("<think>分析题干与选项</think>答案：C", {"thinking_template": True}),
    "never_closes": ("<think>嗯", {"thinking_template": True, "loop": True}),
    "empty": ("", {}),
    "refuses": ("抱歉，我无法回答这个问题。", {}),
    "two_letters": ("答案：A或B", {}),
    "explains": ("B\n解析如下。\n更多内容", {"whole": ["B\n", "解析如下。\n"]}),
}


@pytest.fixture(scope="session")
def scripted(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scripted")
    return {name: build_script_model(root / name, text, **kw) for name, (text, kw) in SCRIPTS.items()}


def spec_of(engine, run_id: int) -> RunSpec:
    with Session(engine) as session:
        return RunSpec.model_validate(session.get(EvalRun, run_id).run_spec)


def run_and_score(engine, run_id: int) -> None:
    execute_run(run_id, engine=engine)
    score_run(run_id, engine=engine)


def test_written_answers_map_back_through_every_order(any_engine, tmp_path, scripted):
    """A model that writes 答案：B under every order picks whatever option each order shows second."""
    items = single_items("ABCDE") + yes_no_items("AB")
    run_id = new_run(any_engine, tmp_path, items, scripted["writes_b"])
    assert spec_of(any_engine, run_id).protocol == "generate"  # the official protocol is the default
    run_and_score(any_engine, run_id)
    rows = rows_of(any_engine, run_id)
    assert len(rows) == 5 * 5 + 2 * 2
    for row in rows:
        assert row.raw_output == "答案：B" and not row.letter_scores and row.reasoning is None
        assert not row.prompt.endswith("答案：")  # the model writes its whole answer
        assert row.generation == {"finish_reason": "stop", "tokens": 3}
        assert row.parsed_answer == [row.permutation[1]] and row.details["chosen_shown"] == ["B"]
    exam = [r for r in rows if r.task == "Med-Exam"]
    by_item: dict[int, list] = {}
    for row in exam:
        by_item.setdefault(row.item_id, []).append(row)
    consistent = sum(len({r.permutation[1] for r in group}) == 1 for group in by_item.values())
    score = task_score(any_engine, run_id, "Med-Exam")
    assert score.extras["robustness"] == pytest.approx(consistent / 5)
    assert score.extras["answered_every_order"] == 1.0
    assert score.extras["position_bias"]["B"]["chosen"] == 1.0
    drug = task_score(any_engine, run_id, "DrugCA")  # B under the original order, A under the swapped one
    assert drug.score == 0.5 and drug.extras["robustness"] == 0.0
    with Session(any_engine) as session:  # what the answers cost, stored with the run
        overall = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id,
                                                            DimensionScore.dimension == "overall")).one()
        compute = session.get(EvalRun, run_id).environment["compute"]
    cost = overall.extras["cost"]
    assert cost["answers"] == 29 and cost["tokens_mean"] == 3.0 and cost["tokens_p95"] == 3.0
    assert cost["reasoning_tokens_total"] == 0 and cost["device"] == "cpu" == compute["device"]
    assert cost["device_seconds"] == compute["seconds"] > 0


def test_known_answers_score_as_expected(engine, tmp_path, scripted):
    """Correctness follows the mapped-back answer: item answers chosen so that order 0 (original) is right."""
    run_id = new_run(engine, tmp_path, single_items("BBB"), scripted["writes_b"], k=1)
    run_and_score(engine, run_id)
    assert all(r.correct for r in rows_of(engine, run_id))
    assert task_score(engine, run_id, "Med-Exam").score == 1.0


def test_reasoning_is_stored_apart_and_the_answer_read_after_it(engine, tmp_path, scripted):
    run_id = new_run(engine, tmp_path, single_items("CA"), scripted["thinks_c"], reasoning_budget=64)
    run_and_score(engine, run_id)
    spec = spec_of(engine, run_id)
    assert spec.reasoning.thinks is True and spec.reasoning.source == "template"
    assert spec.reasoning.chat_template_kwargs == {"enable_thinking": True}
    for row in rows_of(engine, run_id):
        assert row.reasoning == "分析题干与选项" and row.raw_output == "答案：C"
        assert row.generation["reasoning_closed"] is True and row.generation["reasoning_tokens"] > 0
        assert row.parsed_answer == [row.permutation[2]] and row.details["reasoning"] == "closed"
    with Session(engine) as session:
        cost = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id,
                                                         DimensionScore.dimension == "overall")).one().extras["cost"]
    assert cost["reasoning_tokens_total"] > 0 and cost["reasoning_tokens_mean"] > 0


def test_reasoning_that_never_closes_is_an_output_error_not_an_answer(engine, tmp_path, scripted):
    run_id = new_run(engine, tmp_path, single_items("AB"), scripted["never_closes"], reasoning_budget=6)
    run_and_score(engine, run_id)
    spec = spec_of(engine, run_id)
    assert spec.max_new_tokens_for(get_exam()) == 32 + 6  # the answer's room plus the thinking budget
    rows = rows_of(engine, run_id)
    for row in rows:
        assert row.raw_output == "" and row.reasoning.startswith("嗯嗯")
        assert row.generation["finish_reason"] == "length" and row.generation["reasoning_closed"] is False
        assert row.details["extraction"] == "truncated" and row.correct is False and row.parsed_answer is None
        assert row.error_primary == "Output Error" and row.error_tags["primary"] == "Output Error"
    score = task_score(engine, run_id, "Med-Exam")
    assert score.extras["robustness"] == 0.0  # never answered: never "consistently" anything
    with Session(engine) as session:
        overall = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id,
                                                            DimensionScore.dimension == "overall")).one()
    assert overall.robustness == 0.0 and overall.extras["error_counts"] == {"Output Error": 10}


def get_exam():
    from evaluator.benchmark.tasks import get_task

    return get_task("Med-Exam")


@pytest.mark.parametrize("model, extraction, category", [
    ("empty", "empty", "Unanswered"),
    ("refuses", "refusal", "Unanswered"),
    ("two_letters", "several_answers", "Format Mismatch"),
])
def test_unusable_answers_get_their_taxonomy_category(engine, tmp_path, scripted, model, extraction, category):
    run_id = new_run(engine, tmp_path, single_items("AB"), scripted[model])
    run_and_score(engine, run_id)
    for row in rows_of(engine, run_id):
        assert row.details["extraction"] == extraction and row.correct is False
        assert row.error_primary == category
    assert task_score(engine, run_id, "Med-Exam").extras["robustness"] == 0.0


def test_organizers_decide_whether_a_model_thinks(engine, tmp_path, scripted):
    """ModelEntry.reasoning (set at moderation) wins over the template; a template with an enable_thinking
    switch is told the decision, so the prompt carries the template's empty reasoning block."""
    from tests.evaluator_core.helpers import make_suite

    with Session(engine) as session:
        suite = make_suite(session, tmp_path / "suite", single_items("A"))
        model = make_model(session, scripted["thinks_c"], "thinker")
        model.reasoning = False
        run = create_run(session, model, suite, k=1, reasoning_budget=64)
        session.commit()
        run_id = run.id
    assert spec_of(engine, run_id).reasoning.source == "organizer"
    execute_run(run_id, engine=engine)
    spec = spec_of(engine, run_id)
    assert spec.reasoning.thinks is False and spec.reasoning.chat_template_kwargs == {"enable_thinking": False}
    assert rows_of(engine, run_id)[0].prompt.endswith("<think>\n\n</think>\n\n")


def test_logprob_runs_are_kept_as_the_fast_protocol(engine, tmp_path, scripted):
    run_id = new_run(engine, tmp_path, single_items("A"), scripted["writes_b"], protocol="logprob", k=2)
    run_and_score(engine, run_id)
    rows = rows_of(engine, run_id)
    assert all(r.letter_scores and r.raw_output is None and r.prompt.endswith("答案：") for r in rows)
    with Session(engine) as session:
        assert session.get(EvalRun, run_id).protocol == "logprob"


def test_early_stop_reads_the_same_answer(scripted):
    """A non-reasoning model's generation stops once its answer is settled; the shorter text reads the same."""
    runner = TransformersRunner(str(scripted["explains"]), device="cpu")
    prompt = runner.tokenizer.apply_chat_template([{"role": "user", "content": "题目"}], tokenize=False,
                                                  add_generation_prompt=True)
    letters, options = list("ABCDE"), ["甲", "乙", "丙", "丁", "戊"]

    def settled(text: str) -> bool:
        return answer_settled(text, "single_choice", letters, options)

    full, short = runner.generate_requests([GenerationRequest(prompt, 20, ["<|im_end|>"]),
                                            GenerationRequest(prompt, 20, ["<|im_end|>"], settled=settled)])
    assert full.text == "B\n解析如下。\n更多内容" and full.tokens == 3
    assert short.text == "B\n解析如下。\n" and short.tokens == 2 and short.finish_reason == "stop"
    assert extract(short.text, "single_choice", letters, options) == extract(full.text, "single_choice", letters,
                                                                             options)


def test_an_unknown_protocol_is_refused_in_one_line(engine, tmp_path, scripted):
    from evaluator.engine.spec import RunSpecError

    with pytest.raises(RunSpecError, match="protocol"):
        new_run(engine, tmp_path, single_items("A"), scripted["writes_b"], protocol="letters")
    with Session(engine) as session:
        assert session.exec(select(EvalRun)).first() is None
        assert session.exec(select(TaskScore)).first() is None
        assert session.exec(select(ModelEntry)).first() is None
