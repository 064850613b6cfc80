"""Builds the stored demo-run rows and the scores they gave when they were committed (``python -m
tests.evaluator_core.rescore_fixture``). Why: ``test_rescore_pin`` re-scores these rows with the current code and
compares every task and dimension score with the stored ones, so a refactor that changes a number fails.

The rows come from the three tiny demo models run on the demo suite (2 items per task, K=3) plus an "oracle" run:
the same units with reference answers written out for two items in three (the tiny models score near zero, the
oracle gives the metrics something to count). Run this only when a scoring change is intended, and say so.
"""
from __future__ import annotations

import json
import math
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

DATA = Path(__file__).resolve().parent / "pinned"
ROWS_FILE = DATA / "demo_run_rows.json"
SCORES_FILE = DATA / "demo_run_scores.json"
SPEC = {"limit_per_task": 2, "k": 3, "device": "cpu", "seed": 0}
ROW_FIELDS = ("order_index", "permutation", "raw_output", "letter_scores", "status", "error_message")


def score_snapshot(engine: Any, run_id: int) -> dict[str, Any]:
    """Every task and dimension score of ``run_id`` as plain JSON (rounded to 12 digits)."""
    from evaluator.tables import DimensionScore, TaskScore

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return None if math.isnan(value) else round(value, 12)
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    with Session(engine) as session:
        tasks = session.exec(select(TaskScore).where(TaskScore.run_id == run_id).order_by(TaskScore.task)).all()
        dims = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)
                            .order_by(DimensionScore.dimension)).all()
        return {"tasks": {t.task: clean(t.model_dump(exclude={"id", "run_id", "task"})) for t in tasks},
                "dimensions": {d.dimension: clean(d.model_dump(exclude={"id", "run_id", "dimension"})) for d in dims}}


def rescore(engine: Any, rows: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """Store ``rows`` as a new run of the demo suite on ``engine``, score it and return its scores."""
    from common.db import session_scope
    from evaluator.engine.scoring import score_run
    from evaluator.engine.units import create_run
    from evaluator.benchmark.suites.bundled import DEMO_SUITE_DIR
    from evaluator.benchmark.suites.importer import import_suite
    from evaluator.tables import ItemResult, Suite, SuiteItem
    from evaluator.benchmark.tasks import get_task
    from submissions.tables import ModelEntry

    with session_scope(engine) as session:
        suite = session.exec(select(Suite).where(Suite.name == "demo")).first() or import_suite(
            session, DEMO_SUITE_DIR, "demo")
        model = ModelEntry(hub_id="pin/model", commit_sha=uuid.uuid4().hex, precision="float32", is_demo=True)
        session.add(model)
        session.flush()
        run = create_run(session, model, suite, **spec)
        keys = {key: (item_id, task) for item_id, key, task in session.exec(
            select(SuiteItem.id, SuiteItem.item_key, SuiteItem.task).where(SuiteItem.suite_id == suite.id))}
        for row in rows:
            item_id, task = keys[row["item"]]
            session.add(ItemResult(run_id=run.id, item_id=item_id, task=task, dimension=str(get_task(task).dimension),
                                   **{k: v for k, v in row.items() if k != "item"}))
        run_id = run.id
    score_run(run_id, engine=engine)
    return score_snapshot(engine, run_id)



def _oracle_output(task: Any, item: Any, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the item's reference answer written as the task's prompt asks (the generator's own rules)."""
    from tests.scoring_text.test_demo_references import render_reference

    from evaluator.benchmark.tasks import Kind

    shown = row["permutation"]
    correct = [chr(65 + i) for i, key in enumerate(shown) if key in (item.answer or [])]
    if task.kind in (Kind.SINGLE_CHOICE, Kind.YES_NO):
        return {**row, "raw_output": None,
                "letter_scores": {chr(65 + i): (0.0 if chr(65 + i) in correct else -4.0 - i) for i in range(len(shown))}}
    if task.kind == Kind.MULTI_CHOICE:
        return {**row, "raw_output": "答案：" + "".join(correct)}
    if task.kind == Kind.CLOZE:
        return {**row, "raw_output": item.answer[0]}
    return {**row, "raw_output": render_reference(item)}


def build() -> None:
    from common.db import get_engine, session_scope
    from evaluator.ops.demo import DEMO_MODELS, ensure_model_folder, suite_corpus
    from evaluator.engine.execution import execute_run
    from evaluator.engine.scoring import score_run
    from evaluator.engine.units import create_run
    from evaluator.benchmark.suites.bundled import DEMO_SUITE_DIR
    from evaluator.benchmark.suites.importer import import_suite, load_items
    from evaluator.tables import ItemResult, SuiteItem
    from evaluator.benchmark.tasks import get_task
    from evaluator.engine.tiny_models import folder_sha
    from submissions.tables import ModelEntry

    tmp = Path(tempfile.mkdtemp())
    engine = get_engine(f"sqlite:///{tmp / 'pin.db'}")
    runs: dict[str, list[dict[str, Any]]] = {}
    scores: dict[str, Any] = {}
    with session_scope(engine) as session:
        suite = import_suite(session, DEMO_SUITE_DIR, "demo")
        corpus = suite_corpus(session, suite)
        items = {row.id: item for row, item in load_items(session, suite.id)}
    for spec in DEMO_MODELS:
        folder, _ = ensure_model_folder(tmp, spec, corpus)
        with session_scope(engine) as session:
            model = ModelEntry(hub_id=f"demo/{spec.name}", commit_sha=folder_sha(folder), precision="float32",
                               local_path=str(folder), is_demo=True)
            session.add(model)
            session.flush()
            run_id = create_run(session, model, suite, **SPEC).id
        execute_run(run_id, engine=engine)
        with Session(engine) as session:
            rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                                .where(ItemResult.run_id == run_id)
                                .order_by(ItemResult.item_id, ItemResult.order_index)).all()
            runs[spec.name] = [{"item": key, "item_id": row.item_id, **{f: getattr(row, f) for f in ROW_FIELDS}}
                               for row, key in rows]
    oracle = []
    for n, row in enumerate(runs[DEMO_MODELS[0].name]):
        item = items[row["item_id"]]
        oracle.append(_oracle_output(get_task(item.task), item, row) if n % 3 != 2 else dict(row))
    runs["oracle"] = oracle
    for rows in runs.values():
        for row in rows:
            row.pop("item_id")
    for name, rows in runs.items():
        scores[name] = rescore(engine, rows, SPEC)
    DATA.mkdir(exist_ok=True)
    ROWS_FILE.write_text(json.dumps({"spec": SPEC, "runs": runs}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    SCORES_FILE.write_text(json.dumps(scores, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def repin_scores() -> None:
    """Re-score the stored rows and write their scores: for a scoring change that is meant (say so in its commit)."""
    from common.db import get_engine

    stored = json.loads(ROWS_FILE.read_text(encoding="utf-8"))
    engine = get_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'pin.db'}")
    scores = {name: rescore(engine, rows, stored["spec"]) for name, rows in stored["runs"].items()}
    SCORES_FILE.write_text(json.dumps(scores, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    repin_scores() if "--scores-only" in sys.argv else build()
