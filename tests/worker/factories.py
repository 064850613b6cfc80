"""Rows the worker tests start from: a small active suite, models, submissions and pending runs.

Rows are inserted directly (the suites importer and the submission form are other packages' concerns); the
worker's own code paths are what the tests exercise.
"""
from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.settings import Settings, get_settings
from common.timeutil import utcnow
from evaluator.tables import EvalRun, Suite, SuiteItem
from submissions.tables import ModelEntry, Submission


def choice_item(n: int, task: str = "Med-Exam") -> dict:
    """A single-choice item in the project format."""
    return {
        "id": f"{task.lower()}-{n:03d}", "task": task, "passage": "",
        "question": f"患者{n}岁，发热咳嗽三天，最可能的诊断是？",
        "options": {"A": "肺炎", "B": "高血压", "C": "糖尿病", "D": "心肌梗死", "E": "头痛"},
        "answer": ["ABCDE"[n % 5]], "answer_points": [], "source": "test", "other": {},
    }


def add_suite(engine: Engine, items: list[dict], *, name: str = "test", active: bool = True) -> int:
    """An active suite holding ``items``; returns its id."""
    version = hashlib.sha256(repr(items).encode() + name.encode()).hexdigest()[:64]
    with Session(engine) as session:
        suite = Suite(name=name, version=version, item_count=len(items), active=active)
        session.add(suite)
        session.flush()
        for item in items:
            session.add(SuiteItem(suite_id=suite.id, task=item["task"], item_key=item["id"], data=item))
        session.commit()
        return suite.id


def add_model(engine: Engine, hub_id: str, *, local_path: Path | str | None = None, params: int | None = None,
              commit_sha: str | None = None) -> int:
    with Session(engine) as session:
        model = ModelEntry(hub_id=hub_id, commit_sha=commit_sha or hashlib.sha1(hub_id.encode()).hexdigest(),
                           precision="float32", params=params, local_path=str(local_path) if local_path else None)
        session.add(model)
        session.commit()
        return model.id


def add_submission(engine: Engine, model_id: int, *, state: str = "approved", priority: int = 0,
                   age_s: float = 0.0) -> int:
    with Session(engine) as session:
        sub = Submission(model_id=model_id, state=state, priority=priority,
                         created_at=utcnow() - timedelta(seconds=age_s))
        session.add(sub)
        session.commit()
        return sub.id


def add_pending_run(engine: Engine, suite_id: int, model_id: int, *, priority: int = 0, age_s: float = 0.0,
                    submission_state: str = "pending") -> tuple[int, int]:
    """A submission in ``submission_state`` with a pending run (as create_run leaves it); returns (run, sub)."""
    sub_id = add_submission(engine, model_id, state=submission_state, priority=priority, age_s=age_s)
    with Session(engine) as session:
        suite = session.get(Suite, suite_id)
        run = EvalRun(submission_id=sub_id, model_id=model_id, suite_id=suite_id, suite_version=suite.version,
                      evaluator_version="test", priority=priority, status="pending")
        session.add(run)
        session.commit()
        return run.id, sub_id


def run_row(engine: Engine, run_id: int) -> EvalRun:
    with Session(engine) as session:
        return session.exec(select(EvalRun).where(EvalRun.id == run_id)).one()


def submission_state(engine: Engine, sub_id: int) -> str:
    with Session(engine) as session:
        return session.exec(select(Submission.state).where(Submission.id == sub_id)).one()


DEMO_DIR = Path(__file__).resolve().parents[2] / "evaluator" / "benchmark" / "suites" / "demo"


def demo_items(task: str, n: int) -> list[dict]:
    """The first ``n`` items of the bundled demo suite's ``task`` file (real items, every field filled)."""
    import json

    lines = (DEMO_DIR / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][:n]


def approve(engine: Engine, model_id: int, **kwargs) -> int:  # type: ignore[no-untyped-def]
    """An approved submission of ``model_id`` (what moderation leaves for the worker)."""
    return add_submission(engine, model_id, state="approved", **kwargs)


def worker_settings(**changes) -> Settings:  # type: ignore[no-untyped-def]
    base = {"lease_seconds": 1.5, "worker_poll_seconds": 0.5, "min_free_disk_gb": 0.0}
    return get_settings().model_copy(update={**base, **changes})


def runs_of(engine, submission_id: int) -> list[EvalRun]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(EvalRun).where(EvalRun.submission_id == submission_id)))


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
