"""The evaluation worker: ``python -m evaluator.ops.worker`` (README's run command starts it beside the app).

An APScheduler scheduler runs two jobs:

- ``queue`` (every ``worker_poll_seconds``): turn approved submissions into pending runs on the active suite, then
  claim runs one at a time (evaluate, score, end, free memory, take the next) until none is waiting.
- ``rescore`` (every ``rescore_interval_s``): re-score finished runs whose evaluator version is older than this
  one, from their stored raw outputs, without loading any model.

One worker process serves one device; start one per GPU (``CUDA_VISIBLE_DEVICES``) to use several. While a run
executes, a heartbeat thread renews its lease and watches for a cancel; ``should_stop`` turns a cancel, the time
limit, a lost lease or a shutdown into ``RunStopped`` within one chunk of items. SIGTERM / SIGINT (Ctrl-C) hand the
run in progress back to the queue, so a restarted worker resumes it from its last committed chunk.
"""
from __future__ import annotations

import argparse
import gc
import logging
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.db import DatabaseConfigError, get_engine
from common.retry import is_transient, retry_transient
from common.settings import Settings, get_settings
from common.timeutil import utcnow
from evaluator import EVALUATOR_VERSION
from evaluator.engine.distributed import DistributedError
from evaluator.ops.leases import (
    Claim,
    append_log,
    claim_next_run,
    cancel_requested,
    claim_rescore,
    end_cancelled_orphans,
    end_run,
    fail_exhausted_runs,
    finish_rescore,
    held_elsewhere,
    log_line,
    mark_rescored,
    parse_order,
    release_lease,
    renew_lease,
    worker_identity,
)
from evaluator.engine.model_fetch import ModelFetchError, fetch_model
from evaluator.engine.placement import Accelerators, PlacementError, detect_accelerators, place, resolve_device
from evaluator.engine.execution import RunStopped, execute_run
from evaluator.engine.failures import failure_detail
from evaluator.engine.scoring import score_run
from evaluator.engine.spec import RunSpecError, stored_specs
from evaluator.engine.units import create_run
from evaluator.engine.runners import ModelLoadError
from evaluator.benchmark.suites.importer import get_active_suite
from evaluator.tables import EvalRun
from submissions.modelscope import display_id
from submissions.queue import set_state
from submissions.states import State
from submissions.tables import ModelEntry, Submission

log = logging.getLogger("medbench.worker")

SHUTDOWN = "worker shutting down"
LEASE_LOST = "lease lost to another worker"
CANCELLED = "cancelled"
TIME_LIMIT = "time limit exceeded"
INTERNAL_ERROR = "the evaluation failed with an internal error; the organizers have the details"


def public_reason(exc: BaseException, model: ModelEntry, cache_dir: str | Path) -> str:
    """The failure as the public Queue shows it: paths on this server (the model cache, a local model folder)
    become the model's name. Why: they mean nothing to a submitter, push the actual reason out of sight in the
    Queue's table, and need not be public; the organizers keep the full text in ``error_detail``."""
    text = str(exc)
    label = f"{model.hub_id}@{model.commit_sha[:12]}"
    roots = {str(cache_dir), str(Path(cache_dir).resolve())}
    if model.local_path:
        roots |= {str(model.local_path), str(Path(model.local_path).resolve())}
    for root in sorted((r.rstrip("/") for r in roots if r.rstrip("/")), key=len, reverse=True):
        text = re.sub(re.escape(root) + r"[^\s:,;'\"]*", label, text)
    return text


def free_accelerator_memory() -> None:
    """Give memory back between runs, so the next model starts on an empty GPU."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class RunGuard:
    """Keeps one claimed run's lease alive and answers ``should_stop`` for execute_run.

    The heartbeat runs in its own thread every ``interval`` seconds (a third of the lease, at most 5 s), so a
    cancel set by an organizer is seen within seconds even while the main thread is inside a model call.
    """

    engine: Engine
    claim: Claim
    lease_seconds: float
    deadline: float  # time.time() after which the run has used up its time limit
    shutting_down: threading.Event
    reason: str | None = None
    _done: threading.Event = field(default_factory=threading.Event)
    _last_check: float = 0.0
    _thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return max(0.2, min(5.0, self.lease_seconds / 3))

    def start(self) -> "RunGuard":
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.claim.run_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _beat(self) -> None:
        while not self._done.wait(self.interval):
            try:
                status = renew_lease(self.engine, self.claim.run_id, self.claim.owner, lease_seconds=self.lease_seconds)
            except Exception:  # a database hiccup: keep beating; the lease has slack for a missed beat
                log.exception("heartbeat of run %s failed", self.claim.run_id)
                continue
            if not status.held:
                self.reason = self.reason or LEASE_LOST
            elif status.cancel_requested:
                self.reason = self.reason or CANCELLED

    def should_stop(self) -> str | None:
        """Called by execute_run before each chunk. Besides the heartbeat's findings it reads the cancel flag
        itself (at most once a second), so a cancel stops the run at the next chunk even between heartbeats."""
        if self.reason is None and self.shutting_down.is_set():
            self.reason = SHUTDOWN
        if self.reason is None and time.time() > self.deadline:
            self.reason = TIME_LIMIT
        if self.reason is None and time.monotonic() - self._last_check >= 1.0:
            self._last_check = time.monotonic()
            if cancel_requested(self.engine, self.claim.run_id):
                self.reason = CANCELLED
        return self.reason


class Worker:
    """Serves the queue for one device. ``drain`` is the scheduler's queue job; tests call it directly too."""

    def __init__(self, engine: Engine | None = None, settings: Settings | None = None, *,
                 device: str | None = None, owner: str | None = None, accelerators: Accelerators | None = None):
        """``accelerators`` describes the GPUs (detected when None and the device is cuda)."""
        self.settings = settings or get_settings()
        self.order = parse_order(self.settings.worker_order)
        self.engine = engine or get_engine()
        self.device = device or resolve_device(self.settings.device)
        self.owner = owner or worker_identity(self.device)
        self.accelerators = accelerators or detect_accelerators(self.device)
        self.max_weight_bytes = self.accelerators.weight_budget() if self.accelerators else None
        self.shutting_down = threading.Event()
        self.stop_when_idle = False  # ``--until-idle``: the first drain that finds nothing stops the worker

    # ----- the queue job ---------------------------------------------------------------------------------------
    def drain(self) -> list[int]:
        """Queue approved submissions, then evaluate runs one at a time until none waits; returns the run ids."""
        handled: list[int] = []
        if self.shutting_down.is_set():
            return handled
        self.queue_approved()
        while not self.shutting_down.is_set():
            fail_exhausted_runs(self.engine, max_attempts=self.settings.max_attempts)
            end_cancelled_orphans(self.engine, actor_name=self.owner)
            claim = claim_next_run(self.engine, self.owner, lease_seconds=self.settings.lease_seconds,
                                   order=self.order, max_attempts=self.settings.max_attempts,
                                   max_weight_bytes=self.max_weight_bytes)
            if claim is None:
                break
            self.process(claim)
            handled.append(claim.run_id)
            self.queue_approved()  # submissions approved meanwhile join the queue before the next pick
        if not handled and self.stop_when_idle:
            # decided here, in the queue job itself: a flag read later by serve() let the next poll claim a run
            # first, which the shutdown then handed back half done. Runs under another worker's lease keep it
            # serving: a crashed worker's run is claimable once its lease expires.
            elsewhere = held_elsewhere(self.engine, self.owner)
            if elsewhere:
                log.info("queue empty; waiting for run(s) %s held by other workers", ", ".join(map(str, elsewhere)))
            else:
                self.shutting_down.set()
        return handled

    def queue_approved(self) -> list[int]:
        """Create a pending run on the active suite for every approved submission (approved -> pending).

        Several workers may do this at once: PostgreSQL skips submissions another worker has locked; SQLite takes
        its write lock up front (BEGIN IMMEDIATE), so the second worker sees them already pending.
        """
        created: list[int] = []
        sqlite = self.engine.dialect.name == "sqlite"
        with Session(self.engine) as session:  # most polls find nothing: look before taking any lock
            if session.exec(select(Submission.id).where(Submission.state == State.APPROVED).limit(1)).first() is None:
                return created
        with Session(self.engine) as session:
            if sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            query = select(Submission).where(Submission.state == State.APPROVED).order_by(Submission.created_at)
            if not sqlite:
                query = query.with_for_update(skip_locked=True)
            submissions = list(session.exec(query))
            suite = get_active_suite(session) if submissions else None
            if submissions and suite is None:
                log.warning("%d approved submission(s) wait: no suite is active", len(submissions))
                return created
            for submission in submissions:
                model = session.get(ModelEntry, submission.model_id)
                try:
                    run = create_run(session, model, suite, submission_id=submission.id, priority=submission.priority)
                except RunSpecError as exc:  # failed with its reason, once: not retried and logged at every poll
                    log.error("submission %s cannot be queued: %s", submission.id, exc)
                    set_state(session, submission, State.FAILED, actor_name="worker",
                              reason=f"cannot be queued on suite {suite.name}: {exc}")
                    continue
                set_state(session, submission, State.PENDING, actor_name="worker", reason=f"queued as run {run.id}")
                run.log = log_line(f"queued by {self.owner} on suite {suite.name} ({suite.version[:12]}), "
                                   f"{run.progress_total} (item, order) pairs")
                created.append(run.id)
            session.commit()
        return created

    # ----- one run -----------------------------------------------------------------------------------------------
    def process(self, claim: Claim) -> str:
        """Evaluate and score one claimed run and end it; returns how it ended (or 'released' / 'lost')."""
        started = time.time()
        with Session(self.engine) as session:
            run = session.get(EvalRun, claim.run_id)
            model = session.get(ModelEntry, run.model_id)
        # The time limit counts from this claim: a run handed back at shutdown and resumed the next day must not
        # fail for the night in between; max_attempts bounds the total of a run that keeps being taken over.
        deadline = started + self.settings.run_time_limit_s
        guard = RunGuard(self.engine, claim, self.settings.lease_seconds, deadline, self.shutting_down).start()
        log.info("run %s: %s %s (attempt %d)", claim.run_id, "resuming" if claim.resumed else "starting",
                 model.hub_id, claim.attempts)
        try:
            self.place_run(claim.run_id, model)
            self._prepare_model(claim.run_id, model)
            self._execute(claim.run_id, guard)
            score_run(claim.run_id, engine=self.engine)
            outcome = "finished" if end_run(self.engine, claim.run_id, claim.owner, "finished",
                                            note=f"finished and scored in {time.time() - started:.1f} s") else "lost"
        except RunStopped as stop:
            outcome = self._stopped(claim, stop.reason)
        except (ModelFetchError, ModelLoadError, DistributedError, PlacementError) as exc:
            end_run(self.engine, claim.run_id, claim.owner, "failed",
                    error_public=public_reason(exc, model, self.settings.model_cache_dir),
                    error_detail=failure_detail(exc))
            outcome = "failed"
        except Exception as exc:  # any other failure ends this run, never the worker
            if is_transient(exc):  # the database stayed unreachable beyond the retries: not the model's fault
                outcome = self._database_lost(claim, exc)
            else:
                log.exception("run %s failed", claim.run_id)
                end_run(self.engine, claim.run_id, claim.owner, "failed", error_public=INTERNAL_ERROR,
                        error_detail=failure_detail(exc))
                outcome = "failed"
        finally:
            guard.stop()
            free_accelerator_memory()
        log.info("run %s: %s after %.1f s", claim.run_id, outcome, time.time() - started)
        return outcome

    def _execute(self, run_id: int, guard: "RunGuard") -> None:
        """Run the model: in this process, or spread over Ray actors when MEDBENCH_RAY_ACTORS > 0 (the worker
        keeps the lease, progress and commits either way, so resume and cancel behave the same)."""
        progress = ProgressLog(self.engine, run_id)
        if self.settings.ray_actors > 0:
            from evaluator.engine.distributed import execute_run_distributed

            execute_run_distributed(run_id, num_actors=self.settings.ray_actors, engine=self.engine,
                                    should_stop=guard.should_stop, on_progress=progress)
        else:
            execute_run(run_id, engine=self.engine, should_stop=guard.should_stop, on_progress=progress)

    @retry_transient
    def place_run(self, run_id: int, model: ModelEntry) -> None:
        """Record in the run's execution spec where this worker runs it (tensor parallelism for a model too big for
        one GPU); the run spec, which fixes the numbers, is left as it is."""
        with Session(self.engine) as session:
            run = session.get(EvalRun, run_id)
            spec, execution = stored_specs(run)
            placed = place(spec, execution, model.params, self.accelerators, worker=self.owner, device=self.device)
            run.execution_spec = placed.model_dump(mode="json")
            session.add(run)
            session.commit()
        if placed.placement is not None and placed.placement.note:
            append_log(self.engine, run_id, placed.placement.note)

    def _prepare_model(self, run_id: int, model: ModelEntry) -> Path | None:
        """Make the model's files local before execute_run (which then finds them in the cache); a served model
        has none: its endpoint answers."""
        if model.source == "api":
            served = model.served or {}
            append_log(self.engine, run_id, f"served model {served.get('model_name')} at {served.get('endpoint')}")
            return None
        if not model.local_path:
            shown = display_id(model.hub_id) if model.source == "modelscope" else model.hub_id
            append_log(self.engine, run_id, f"fetching {shown}@{model.commit_sha[:12]}")
        began = time.time()
        path = fetch_model(model.hub_id, model.commit_sha, model.local_path, self.settings.model_cache_dir,
                           min_free_gb=self.settings.min_free_disk_gb, quota_gb=self.settings.model_cache_quota_gb,
                           source=model.source)
        append_log(self.engine, run_id, f"model ready at {path} ({time.time() - began:.1f} s); on {self.device}")
        return path

    def _database_lost(self, claim: Claim, exc: BaseException) -> str:
        """Hand the run back when the database stayed out of reach (it resumes from its last committed chunk);
        if even that fails, its lease expires and a worker takes it over later."""
        log.error("run %s: database unreachable (%s); handing the run back", claim.run_id, exc)
        try:
            release_lease(self.engine, claim.run_id, claim.owner, note=f"database unreachable: {type(exc).__name__}")
        except Exception:  # noqa: BLE001 - still unreachable: the lease expiry hands it back instead
            log.exception("run %s: hand-back failed; its lease will expire", claim.run_id)
        return "released"

    def _stopped(self, claim: Claim, reason: str) -> str:
        if reason == SHUTDOWN:
            release_lease(self.engine, claim.run_id, claim.owner, note="worker shutting down; the run will resume")
            return "released"
        if reason == CANCELLED:
            end_run(self.engine, claim.run_id, claim.owner, "cancelled", error_public="cancelled by an organizer")
            return "cancelled"
        if reason == TIME_LIMIT:
            limit = self.settings.run_time_limit_s
            end_run(self.engine, claim.run_id, claim.owner, "failed",
                    error_public=f"time limit exceeded: the run took longer than {limit:g} s",
                    error_detail=f"stopped by {claim.owner}: run_time_limit_s={limit:g}")
            return "failed"
        append_log(self.engine, claim.run_id, f"{claim.owner} stopped: {reason}")
        return "lost"

    # ----- the rescore job ---------------------------------------------------------------------------------------
    def rescore_outdated(self) -> list[int]:
        """Re-score every finished run scored by another evaluator version, from its stored outputs."""
        done: list[int] = []
        while not self.shutting_down.is_set():
            run_id = claim_rescore(self.engine, self.owner, EVALUATOR_VERSION, lease_seconds=self.settings.lease_seconds)
            if run_id is None:
                break
            try:
                score_run(run_id, engine=self.engine)
            except Exception as exc:
                log.exception("re-scoring run %s failed", run_id)
                finish_rescore(self.engine, run_id, self.owner, None, note=f"re-scoring failed: {exc}")
                continue
            finish_rescore(self.engine, run_id, self.owner, EVALUATOR_VERSION)
            done.append(run_id)
        return done


def rescore_runs(engine: Engine, run_ids: list[int], *, actor_name: str) -> None:
    """Re-score the given finished runs now, whatever version scored them (after a scoring fix, say)."""
    for run_id in run_ids:
        score_run(run_id, engine=engine)
        mark_rescored(engine, run_id, EVALUATOR_VERSION, actor_name=actor_name)


class ProgressLog:
    """execute_run's ``on_progress``: a log line at each quarter, so organizers see a run advance."""

    def __init__(self, engine: Engine, run_id: int):
        self.engine, self.run_id, self.logged_quarter = engine, run_id, -1

    def __call__(self, done: int, total: int) -> None:
        quarter = (4 * done) // total if total else 4
        if quarter > self.logged_quarter:
            if self.logged_quarter >= 0 or done < total:
                append_log(self.engine, self.run_id, f"progress {done}/{total}")
            self.logged_quarter = quarter


def warm_up() -> None:
    """Import the model stack (torch, transformers) before taking work: seconds to tens of seconds on a busy
    CPU, better spent before a run is claimed than inside its first lease."""
    import evaluator.engine.runners.transformers_backend  # noqa: F401
    import evaluator.benchmark.taxonomy  # noqa: F401
    from evaluator.benchmark.scoring import get_metric
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401

    get_metric("accuracy")  # loads every metric module


def configure_logging() -> None:
    """Worker progress at INFO; the scheduler's 'job skipped, still running' notices and Alembic's chatter are
    left out (a long run overlaps many poll ticks by design)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def build_scheduler(worker: Worker, settings: Settings) -> BackgroundScheduler:
    """The two jobs, each never overlapping itself, both starting at once."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    now = utcnow()
    scheduler.add_job(worker.drain, "interval", seconds=settings.worker_poll_seconds, id="queue", next_run_time=now)
    scheduler.add_job(worker.rescore_outdated, "interval", seconds=settings.rescore_interval_s, id="rescore",
                      next_run_time=now)
    return scheduler


def serve(worker: Worker, settings: Settings, *, until_idle: bool = False) -> None:
    """Run the scheduler until SIGTERM / SIGINT (or, with ``until_idle``, until the queue is empty)."""
    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s: finishing up", signal.Signals(signum).name)
        worker.shutting_down.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    warm_up()
    worker.stop_when_idle = until_idle
    scheduler = build_scheduler(worker, settings)
    scheduler.start()
    log.info("worker %s serving the queue (poll every %g s, lease %g s)", worker.owner,
             settings.worker_poll_seconds, settings.lease_seconds)
    while not worker.shutting_down.wait(0.5):  # short waits: signal handlers run between them
        pass
    scheduler.shutdown(wait=True)  # a run in progress sees shutting_down, hands its lease back, and returns
    log.info("worker %s stopped", worker.owner)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluator.ops.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--until-idle", action="store_true", help="exit once the queue is empty")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="override MEDBENCH_DEVICE")
    args = parser.parse_args(argv)
    configure_logging()
    try:  # SettingsError and LeaseError (worker_order) are ValueErrors with a one-line message
        settings = get_settings()
        worker = Worker(settings=settings, device=None if args.device in (None, "auto") else args.device)
    except (DatabaseConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(worker, settings, until_idle=args.until_idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
