"""Scoring a run from its stored rows, and exporting it.

``score_run`` (re)computes every row's parsed answer, correctness, score and error tags from the stored raw outputs
and letter scores, then the task, dimension and overall scores with bootstrap CIs. It needs no model and no
runner, so it is also the re-scoring job when a rule changes (``tests/evaluator_core/test_rescore_pin.py`` pins
its numbers). ``export_run`` writes a run's two specs, environment, rows and scores to one JSON file.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.retry import retry_transient
from evaluator.benchmark.items import Item
from evaluator.benchmark.scoring import ItemOutcome, get_metric
from evaluator.benchmark.scoring.aggregate import TaskFigures, bootstrap_scores, choice_extras, position_bias
from evaluator.benchmark.scoring.aggregate import accuracy as pooled_accuracy
from evaluator.benchmark.scoring.aggregate import robustness as pooled_robustness
from evaluator.benchmark.scoring.aggregate import strict_accuracy as pooled_strict
from evaluator.benchmark.scoring.extract import EXTRACT_KINDS
from evaluator.benchmark.suites.importer import load_items
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS, Kind, TaskSpec, get_task
from evaluator.benchmark.taxonomy import tag_item
from evaluator.engine.cost import generation_cost
from evaluator.engine.failures import failure_reason
from evaluator.engine.spec import stored_specs
from evaluator.score_history import keep_scores
from evaluator.tables import DimensionScore, EvalRun, ItemResult, SuiteItem, TaskScore

# what each spec of an export is (the reproducibility card says the same in its headings)
SPEC_PARTS = {"run_spec": "determines the numbers: model, revision, dtype, suite version, K, seed, prompts, "
                          "generation, protocol",
              "execution_spec": "how it ran: backend, device, tensor parallelism, batch policy, placement"}
MEAN_METRICS = frozenset({"accuracy", "exact_set_accuracy", "cloze_accuracy"})  # task score = mean of row scores


def _score_rows(task: TaskSpec, item: Item, rows: list[ItemResult], metric: Any) -> list[ItemOutcome]:
    outcomes = []
    for row in rows:
        ok = row.status == "ok"
        facts = row.generation or {}
        flags: dict[str, bool] = {}
        if task.kind in EXTRACT_KINDS and facts:  # the extractor reads generated answers with how they ended
            flags = {"truncated": facts.get("finish_reason") == "length",
                     "thinking": facts.get("reasoning_closed") is False}
        try:
            outcome = metric.score(task, item, row.raw_output if ok else None,
                                   (row.letter_scores or None) if ok else None, row.permutation or None, **flags)
        except Exception as exc:  # noqa: BLE001 - a scoring bug on one item leaves it unscored, visibly
            outcome = ItemOutcome(details={"scoring_error": failure_reason(exc)})
        if not ok:
            outcome.details = {**outcome.details, "failed": row.error_message}
        if ok and facts:
            outcome.details = {**outcome.details, **_generation_details(task, facts)}
        if judged := (row.details or {}).get("judge"):  # a judge's verdicts are kept when rules re-score a row
            outcome.details = {**outcome.details, "judge": judged}
        row.parsed_answer, row.correct, row.score, row.details = (
            outcome.parsed_answer, outcome.correct, outcome.score, outcome.details)
        outcomes.append(outcome)
    return outcomes


def _generation_details(task: TaskSpec, facts: dict[str, Any]) -> dict[str, Any]:
    """What the taxonomy needs of how a generation ended: the runner's finish reason for free text (a choice
    answer's cut is the extractor's verdict instead) and whether the reasoning was closed."""
    details: dict[str, Any] = {}
    if task.kind not in EXTRACT_KINDS and "finish_reason" in facts:
        details["finish_reason"] = facts["finish_reason"]
    if "reasoning_closed" in facts:
        details["reasoning"] = "closed" if facts["reasoning_closed"] else "unclosed"
    return details


@retry_transient
def score_run(run_id: int, *, engine: Engine | None = None) -> None:
    """(Re)compute every row's answer, correctness, score and error tags, then the task, dimension and overall
    scores. Idempotent, and needs no model: it is also the re-scoring job when rules change."""
    from common.db import get_engine

    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise ValueError(f"no run with id {run_id}")
        spec, _ = stored_specs(run)
        items = {row.id: item for row, item in load_items(session, run.suite_id)}
        rows = session.exec(select(ItemResult).where(ItemResult.run_id == run_id)
                            .order_by(ItemResult.item_id, ItemResult.order_index)).all()
        by_item: dict[int, list[ItemResult]] = defaultdict(list)
        for row in rows:
            by_item[row.item_id].append(row)
        groups: dict[str, list[list[ItemOutcome]]] = defaultdict(list)
        scored_groups: dict[str, list[list[ItemOutcome]]] = defaultdict(list)
        item_counts: dict[str, int] = defaultdict(int)
        dim_rows: dict[str, list[ItemResult]] = defaultdict(list)
        for item_id, item_rows in by_item.items():
            item = items[item_id]
            task = get_task(item.task)
            item_counts[task.name] += 1
            dim_rows[str(task.dimension)] += item_rows
            metric = get_metric(task.metric)
            outcomes = _score_rows(task, item, item_rows, metric)
            groups[task.name].append(outcomes)
            if item.scored:
                scored_groups[task.name].append(outcomes)
            tags = tag_item(task, item, outcomes, [r.raw_output for r in item_rows])
            for row, tag in zip(item_rows, tags):
                human = (row.error_tags or {}).get("human")
                row.error_primary = tag.get("primary")
                row.error_tags = {**tag, **({"human": human} if human is not None else {})}
            session.add_all(item_rows)
        figures = []
        for name in groups:
            task = get_task(name)
            metric = get_metric(task.metric)
            figures.append(TaskFigures(name, str(task.dimension), scored_groups[name], metric.aggregate,
                                       mean_of_scores=task.metric in MEAN_METRICS))
        task_ci, dim_ci, overall = bootstrap_scores(figures, seed=spec.seed)
        keep_scores(session, run)  # a re-scoring: keep the scores being replaced (evaluator.score_history)
        session.execute(delete(TaskScore).where(TaskScore.run_id == run_id))
        session.execute(delete(DimensionScore).where(DimensionScore.run_id == run_id))
        for name, task_groups in groups.items():
            task = get_task(name)
            interval = task_ci.get(name)
            session.add(TaskScore(run_id=run_id, task=name, dimension=str(task.dimension), metric=task.metric,
                                  score=interval.score if interval else None,
                                  ci_low=interval.ci_low if interval else None,
                                  ci_high=interval.ci_high if interval else None,
                                  n_items=item_counts[name], n_scored=len(scored_groups[name]),
                                  extras=_task_extras(task, task_groups)))
        choice_groups = {name: g for name, g in groups.items() if get_task(name).kind in CHOICE_KINDS}
        for dim, interval in dim_ci.items():
            dim_choice = [g for name, gs in choice_groups.items() if str(get_task(name).dimension) == dim for g in gs]
            session.add(DimensionScore(run_id=run_id, dimension=dim, score=interval.score, ci_low=interval.ci_low,
                                       ci_high=interval.ci_high, **_pooled(dim_choice),
                                       extras=_dimension_extras(dim_choice, dim_rows[dim])))
        all_choice = [g for gs in choice_groups.values() for g in gs]
        if overall.score is not None:
            extras = _dimension_extras(all_choice, list(rows))
            extras["dimensions"] = sorted(dim_ci)
            extras["dimensions_missing"] = sorted({str(t.dimension) for t in TASKS.values()} - set(dim_ci))
            extras["cost"] = generation_cost((r.generation for r in rows), run.environment)
            session.add(DimensionScore(run_id=run_id, dimension="overall", score=overall.score,
                                       ci_low=overall.ci_low, ci_high=overall.ci_high, **_pooled(all_choice),
                                       extras=extras))
        session.commit()


def _task_extras(task: TaskSpec, groups: list[list[ItemOutcome]]) -> dict[str, Any]:
    if task.kind in CHOICE_KINDS or task.kind == Kind.CLOZE:
        extras = choice_extras(groups, multi=task.kind == Kind.MULTI_CHOICE)
        if task.kind == Kind.CLOZE:
            extras.pop("position_bias")
    else:
        metric = get_metric(task.metric)
        extras = metric.extras(groups) if hasattr(metric, "extras") else {}
    errors = sum(1 for g in groups for o in g if "scoring_error" in o.details)
    return {**extras, "scoring_errors": errors} if errors else extras


def _pooled(choice_groups: list[list[ItemOutcome]]) -> dict[str, float | None]:
    return {"accuracy": pooled_accuracy(choice_groups), "strict_accuracy": pooled_strict(choice_groups),
            "robustness": pooled_robustness(choice_groups)}


def _dimension_extras(choice_groups: list[list[ItemOutcome]], rows: list[ItemResult]) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.error_primary:
            counts[row.error_primary] += 1
    return {"position_bias": position_bias(choice_groups) if choice_groups else {},
            "error_counts": dict(counts), "n_wrong": sum(1 for r in rows if r.correct is False)}


# ----- export ------------------------------------------------------------------------------------------------------
def export_run(run_id: int, path: str | Path, *, engine: Engine | None = None) -> Path:
    """Write a run's two specs (labelled in ``spec_parts``), environment, per-item rows and scores to one JSON
    file."""
    from common.db import get_engine

    engine = engine or get_engine()
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise ValueError(f"no run with id {run_id}")
        run_spec, execution_spec = run.specs()
        rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                            .where(ItemResult.run_id == run_id)
                            .order_by(ItemResult.item_id, ItemResult.order_index)).all()
        tasks = session.exec(select(TaskScore).where(TaskScore.run_id == run_id).order_by(TaskScore.task)).all()
        dims = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)
                            .order_by(DimensionScore.dimension)).all()
        payload = {
            "run": run.model_dump(mode="json", include={"id", "status", "suite_version", "evaluator_version",
                                                        "created_at", "started_at", "finished_at"}),
            "spec_parts": SPEC_PARTS,
            "run_spec": run_spec,
            "execution_spec": execution_spec,
            "environment": run.environment,
            "task_scores": [t.model_dump(mode="json", exclude={"id", "run_id"}) for t in tasks],
            "dimension_scores": [d.model_dump(mode="json", exclude={"id", "run_id"}) for d in dims],
            "items": [{"item": key, **row.model_dump(mode="json", exclude={"id", "run_id", "created_at"})}
                      for row, key in rows],
        }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return out
