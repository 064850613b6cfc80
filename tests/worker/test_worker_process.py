"""The worker as real processes (``python -m evaluator.ops.worker``) on a real tiny model: killed with SIGKILL mid-run
and resumed by another process with the same results as an uninterrupted run; two processes on one queue."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from evaluator.tables import DimensionScore, EvalRun, ItemResult, TaskScore
from evaluator.ops.worker import Worker
from submissions.tables import SubmissionEvent
from tests.worker.factories import (
    add_model,
    add_suite,
    approve,
    demo_items,
    run_row,
    runs_of,
    wait_for,
    worker_settings,
)

REPO = Path(__file__).resolve().parents[2]


def start_worker(engine, tmp_path: Path, name: str, *args: str, lease_s: float = 2.0) -> tuple[subprocess.Popen, Path]:  # type: ignore[no-untyped-def]
    """A worker process on ``engine``'s database with a short lease and poll, its output in a log file."""
    env = {**os.environ, "MEDBENCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "MEDBENCH_LEASE_SECONDS": str(lease_s), "MEDBENCH_WORKER_POLL_SECONDS": "0.3", "MEDBENCH_DEVICE": "cpu",
           "MEDBENCH_MIN_FREE_DISK_GB": "0", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "evaluator.ops.worker", *args], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    return process, log_path


def results(engine, run_id: int) -> dict[tuple[int, int], dict]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(ItemResult).where(ItemResult.run_id == run_id)).all()
    return {(r.item_id, r.order_index): r.model_dump(include={"id", "prompt", "raw_output", "parsed_answer", "correct",
                                                              "score", "letter_scores", "status", "error_primary"})
            for r in rows}


def scores(engine, run_id: int) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        tasks = s.exec(select(TaskScore).where(TaskScore.run_id == run_id)).all()
        dims = s.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)).all()
    return {**{t.task: (t.score, t.ci_low, t.ci_high, t.n_items) for t in tasks},
            **{d.dimension: (d.score, d.ci_low, d.ci_high, d.accuracy, d.robustness) for d in dims}}


def test_sigkill_mid_run_resumes_with_the_scores_of_an_uninterrupted_run(engine, tiny_models, tmp_path) -> None:
    add_suite(engine, demo_items("Med-Exam", 61) + demo_items("DrugCA", 3))  # 5 chunks of up to 16 items
    model = add_model(engine, "demo/tiny-random", local_path=tiny_models["random"])
    killed_sub = approve(engine, model)
    first, first_log = start_worker(engine, tmp_path, "first")
    try:
        wait_for(lambda: any(r.progress_done > 0 for r in runs_of(engine, killed_sub)), timeout=120,
                 what="the first worker to commit a chunk")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    (run,) = runs_of(engine, killed_sub)
    assert run.status == "running" and 0 < run.progress_done < run.progress_total, first_log.read_text()[-3000:]
    before_kill = results(engine, run.id)
    assert 0 < len(before_kill) < run.progress_total

    second, second_log = start_worker(engine, tmp_path, "second")
    try:
        wait_for(lambda: run_row(engine, run.id).status == "finished", timeout=120, what="the second worker")
        second.send_signal(signal.SIGTERM)  # Ctrl-C / stop: a clean exit
        assert second.wait(30) == 0, second_log.read_text()[-3000:]
    finally:
        second.kill()
    done = run_row(engine, run.id)
    assert done.attempts == 2 and "taken over by" in done.log and "went stale" in done.log
    resumed = results(engine, run.id)
    assert len(resumed) == done.progress_total  # every (item, order) once: nothing scored twice
    assert all(resumed[key]["id"] == row["id"] for key, row in before_kill.items())  # committed rows kept

    reference_sub = approve(engine, model)
    Worker(engine, worker_settings(), owner="reference").drain()
    (reference,) = runs_of(engine, reference_sub)
    expected = results(engine, reference.id)
    assert expected.keys() == resumed.keys()
    for key, row in expected.items():
        got = resumed[key]
        assert {k: v for k, v in got.items() if k not in ("id", "letter_scores")} == \
               {k: v for k, v in row.items() if k not in ("id", "letter_scores")}
        assert got["letter_scores"] == pytest.approx(row["letter_scores"], abs=1e-4)
    assert scores(engine, run.id) == scores(engine, reference.id) != {}


def test_two_worker_processes_share_one_queue_without_overlap(pg_engine, tiny_models, tmp_path) -> None:
    """PostgreSQL only: on SQLite, the same race is covered by test_leases' four connections and by the SIGKILL
    test's two processes; a process pair per database would double the slowest test of this folder."""
    any_engine, n_runs = pg_engine, 5
    add_suite(any_engine, demo_items("Med-Exam", 2) + demo_items("DrugCA", 1))
    subs = [approve(any_engine, add_model(any_engine, f"demo/m{i}", params=i + 1,
                                          local_path=tiny_models["random" if i % 2 else "letter_a"]))
            for i in range(n_runs)]
    # a lease long enough that a heartbeat delayed by a busy machine never looks like a dead worker here
    workers = [start_worker(any_engine, tmp_path, f"w{i}", "--until-idle", lease_s=30) for i in range(2)]
    try:
        for process, log_path in workers:
            assert process.wait(240) == 0, log_path.read_text()[-3000:]
    finally:
        for process, _ in workers:
            process.kill()

    owners = set()
    with Session(any_engine) as s:
        for sub in subs:
            runs = s.exec(select(EvalRun).where(EvalRun.submission_id == sub)).all()
            assert len(runs) == 1  # the submission was queued once, although both workers queued approved work
            (run,) = runs
            assert (run.status, run.attempts, run.log.count("claimed by")) == ("finished", 1, 1), run.log
            owners.add(run.log.split("claimed by ")[1].split()[0])
            events = s.exec(select(SubmissionEvent.to_state).where(SubmissionEvent.submission_id == sub)).all()
            assert sorted(events) == ["finished", "pending", "running"]
    assert owners  # which processes served the queue is up to timing; no run was served twice
