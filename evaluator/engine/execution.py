"""Executing a run: load the model (or reach its endpoint), run every (item, order) with no stored row yet, commit
rows chunk by chunk and keep progress current.

``execute_run`` stores only what the model produced (prompt, raw output, letter scores) per (item, order),
committing in chunks so a killed process resumes where it stopped; scoring (``evaluator.engine.scoring``) derives
everything else from those rows, so changing a scoring rule never needs the model again. How it executes comes from
the run's ``ExecutionSpec`` (backend, device, tensor parallelism, batch policy, placement); library versions and the
device it ended up on go to ``EvalRun.environment``. The Ray driver (``evaluator.engine.distributed``) reuses the
chunk step (``run_units``) and the commit path (``load_pending``, ``ChunkCommitter``), so both executors store
alike.
"""
from __future__ import annotations

import math
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.retry import retry_transient
from evaluator import EVALUATOR_VERSION
from evaluator.benchmark.permutations import shown_letters
from evaluator.benchmark.prompts import build_prompt, candidates_of, opens_reasoning
from evaluator.benchmark.scoring.extract import EXTRACT_KINDS, answer_settled, split_reasoning
from evaluator.benchmark.tasks import Kind
from evaluator.engine.failures import failure_reason
from evaluator.engine.progress import RunProgress
from evaluator.engine.runners import (ChoiceRequest, Generation, GenerationRequest, Interrupted, ModelLoadError,
                                      RequestError, Runner, load_runner)
from evaluator.engine.spec import ExecutionSpec, RunSpec, resolve_reasoning, stored_specs
from evaluator.engine.units import WorkUnit, chunk_units, plan_units, progress_detail, selected_items
from evaluator.tables import EvalRun, ItemResult


class RunStopped(RuntimeError):
    """``should_stop()`` asked the run to stop ("cancelled", "time limit"); rows done so far are kept."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def environment(runner: Runner) -> dict[str, Any]:
    """Library versions and the device, stored with the run (numbers are only comparable alongside these)."""
    import tokenizers
    import torch
    import transformers

    info = runner.info
    return {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "evaluator_version": EVALUATOR_VERSION, "backend": info.backend, "device": info.device,
            "dtype": info.dtype, "runner_settings": info.settings}




def open_runner(spec: RunSpec, execution: ExecutionSpec, device: str) -> Runner:
    """The run's runner: a served model's endpoint client, else the model loaded from local disk on ``device``
    with the execution spec's backend, tensor parallelism and token budget."""
    if spec.source == "api" and spec.served is not None:
        from common.settings import get_settings, served_api_key
        from evaluator.engine.runners.openai_backend import OpenAIRunner

        settings = get_settings()
        served = spec.served
        key = served_api_key(served.key_name) if served.key_name else None
        if served.key_name and key is None:
            raise ModelLoadError(f"no API key named {served.key_name}: set MEDBENCH_API_KEY_{served.key_name.upper()} "
                                 "on the worker")
        return OpenAIRunner(served.endpoint, served.model_name, key, decoding=served.decoding,
                            concurrency=settings.api_concurrency, timeout=settings.api_timeout_s,
                            max_retries=settings.api_max_retries)
    return load_runner(resolve_model_path(spec), dtype=spec.dtype, device=device, backend=execution.backend,
                       trust_remote_code=spec.trust_remote_code, token_budget=execution.batch_policy.token_budget,
                       tensor_parallel_size=execution.tensor_parallel)


def resolve_model_path(spec: RunSpec) -> str:
    """The local folder of the run's model: its ``local_path``, else the hub snapshot at the pinned revision."""
    from common.settings import get_settings
    from evaluator.engine.model_fetch import ModelFetchError, fetch_model

    settings = get_settings()
    try:
        return str(fetch_model(spec.model, spec.revision, spec.local_path, settings.model_cache_dir,
                               min_free_gb=settings.min_free_disk_gb, source=spec.source))
    except ModelFetchError as exc:
        raise ModelLoadError(str(exc)) from exc


def result_row(run: EvalRun, unit: WorkUnit, prompt: str, **values: Any) -> ItemResult:
    """The stored row of one (item, order): its prompt plus what the model produced (``run_units``'s values)."""
    return ItemResult(run_id=run.id, item_id=unit.suite_item_id, task=unit.task.name,
                      dimension=str(unit.task.dimension), order_index=unit.order_index,
                      permutation=unit.permutation, prompt=prompt, **values)


def _finite(scores: dict[str, float]) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in scores.values())


def run_units(runner: Runner, spec: RunSpec, units: list[WorkUnit], prompts: list[str]) -> list[dict[str, Any]]:
    """Run one chunk; return ItemResult values per unit. A failing batch is retried one unit at a time, so a
    crash or garbage on one item marks only that item."""
    out: list[dict[str, Any]] = [{} for _ in units]
    by_mode: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, unit in enumerate(units):
        if spec.letter_scored(unit.task):
            by_mode[("letters", 0)].append(i)
        else:
            by_mode[("generate", spec.max_new_tokens_for(unit.task))].append(i)
    for (mode, max_new), indices in by_mode.items():
        def call(batch: list[int]) -> list[Any]:
            if mode == "letters":
                return runner.letter_scores([ChoiceRequest(prompts[i], shown_letters(len(units[i].permutation)),
                                                           prefix_group=str(units[i].suite_item_id)) for i in batch])
            return runner.generate_requests([generation_request(spec, units[i], prompts[i], max_new) for i in batch])

        try:
            results = list(zip(indices, call(indices)))
        except Interrupted:
            raise
        except Exception:  # retry one by one: only the culprit is marked
            results = []
            for i in indices:
                try:
                    results.append((i, call([i])[0]))
                except Interrupted:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure of one item is recorded on that item
                    reason = exc.reason if isinstance(exc, RequestError) else failure_reason(exc)
                    out[i] = {"status": "error", "error_message": reason}
        for i, value in results:
            if mode == "letters":
                if _finite(value):
                    out[i] = {"letter_scores": value}
                else:
                    out[i] = {"letter_scores": {k: str(v) for k, v in value.items()}, "status": "error",
                              "error_message": "model returned non-finite letter scores (NaN or inf)"}
            else:
                out[i] = generated_values(value, prompts[i], runner.tokenizer)
    return out


def generation_request(spec: RunSpec, unit: WorkUnit, prompt: str, max_new: int) -> GenerationRequest:
    """The request of one generated (item, order). A non-reasoning model's choice, yes/no or cloze answer may
    stop as soon as the extractor's reading is settled (``answer_settled``): the stored text reads the same."""
    settled = None
    if unit.task.kind in EXTRACT_KINDS and not spec.reasoning.thinks and not opens_reasoning(prompt):
        kind = unit.task.kind
        if kind is Kind.CLOZE:
            letters, options = [], list(unit.permutation) or candidates_of(unit.item)
        else:
            letters = shown_letters(len(unit.permutation))
            options = [unit.item.options[key] for key in unit.permutation]
        settled = partial(answer_settled, kind=kind, letters=letters, options=options)
    return GenerationRequest(prompt, max_new, spec.generation.get("stop"), prefix_group=str(unit.suite_item_id),
                             settled=settled)


def generated_values(generation: Generation, prompt: str, tokenizer: Any) -> dict[str, Any]:
    """ItemResult values of one generation: the final answer text (``raw_output``) apart from the reasoning
    (``reasoning``), and ``generation`` facts: finish reason, tokens, reasoning tokens and whether the reasoning
    was closed (a reasoning block never closed leaves no answer text: the extractor calls it truncated).

    Reasoning the backend returned apart (``Generation.reasoning``) is taken as is: it was closed unless the budget
    ran out before any answer text. Reasoning tokens: the backend's count, else ``tokenizer``'s, else (a served
    model, whose "tokenizer" cannot tokenize) ``reasoning_tokens_of``'s share of the generated tokens."""
    text = generation.text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL; U+FFFD keeps it visible
    if generation.reasoning is not None:
        reasoning: str | None = generation.reasoning.replace("\x00", "\ufffd").strip()
        answer, closed = text, bool(text.strip()) or generation.finish_reason != "length"
    else:
        reasoning, answer, closed = split_reasoning(text, thinking=opens_reasoning(prompt))
    facts: dict[str, Any] = {"finish_reason": generation.finish_reason, "tokens": generation.tokens}
    if reasoning is not None:
        facts["reasoning_closed"] = closed
        if generation.reasoning_tokens is not None:
            facts["reasoning_tokens"] = generation.reasoning_tokens
        else:
            facts["reasoning_tokens"], estimated = reasoning_tokens_of(reasoning, answer, generation.tokens, tokenizer)
            if estimated:
                facts["reasoning_tokens_estimated"] = True
    return {"raw_output": answer, "reasoning": reasoning, "generation": facts}


def reasoning_tokens_of(reasoning: str, answer: str, tokens: int, tokenizer: Any) -> tuple[int, bool]:
    """(tokens of ``reasoning``, whether estimated): counted by ``tokenizer`` where it can tokenize; else the
    reasoning's share (by characters) of the ``tokens`` generated, which is exact when all of it is reasoning."""
    if not reasoning:
        return 0, False
    if callable(tokenizer):
        return len(tokenizer(reasoning, add_special_tokens=False)["input_ids"]), False
    share = len(reasoning) / (len(reasoning) + len(answer))
    return round(tokens * share), True


def unit_prompt(spec: RunSpec, unit: WorkUnit, tokenizer: Any) -> str:
    """The exact prompt of one (item, order) under the run's protocol and chat-template arguments."""
    return build_prompt(unit.task, unit.item, unit.permutation, tokenizer, spec.use_chat_template,
                        protocol=spec.protocol, template_kwargs=spec.template_kwargs())


@retry_transient
def insert_rows(engine: Engine, rows: list[ItemResult]) -> None:
    """Commit a chunk; rows another process committed meanwhile are skipped (the unique key forbids doubles).

    Retried on a lost connection: each attempt inserts fresh copies, and rows a lost acknowledgement had in fact
    committed are skipped by the unique key like any others."""
    with Session(engine, expire_on_commit=False) as session:
        session.add_all([ItemResult(**row.model_dump(exclude={"id"})) for row in rows])
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
    for row in rows:
        with Session(engine) as session:
            session.add(ItemResult(**row.model_dump(exclude={"id"})))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()


def execute_run(run_id: int, *, engine: Engine | None = None, should_stop: Callable[[], str | None] = lambda: None,
                on_progress: Callable[[int, int], None] | None = None, runner: Runner | None = None) -> None:
    """Run every (item, order) of the run that has no ItemResult yet (see the module docstring).

    Raises ModelLoadError (plain reason) when the model cannot be loaded, RunStopped when ``should_stop()``
    returns a reason. ``runner`` lets a caller that already holds the model (benchmarks) pass it in.
    """
    from common.db import get_engine

    engine = engine or get_engine()
    pending = load_pending(engine, run_id)
    spec, execution = pending.spec, pending.execution
    todo = pending.todo
    if todo:
        owned = runner is None
        if runner is None:
            from common.settings import get_settings

            runner = open_runner(spec, execution, execution.device_on(get_settings().device))  # MEDBENCH_DEVICE
        try:
            spec = pending.spec = resolve_reasoning(spec, runner.tokenizer)
            env = {**environment(runner), "chunk_items": execution.batch_policy.chunk_items_on(runner.info.device)}
            # the reasoning decision fixes numbers (run spec); the execution part is written back as read (a row
            # stored before the split is stored split from here on)
            update_run(engine, run_id, environment=env, run_spec=spec.model_dump(mode="json"),
                       execution_spec=execution.model_dump(mode="json"))
            clock = ComputeClock(runner.info.device, (pending.run.environment or {}).get("compute"))
            before = (pending.run.environment or {}).get("api_usage")
            try:
                _execute(ChunkCommitter(engine, pending, on_progress), spec, execution, runner, todo, should_stop)
            finally:  # seconds spent (and a served model's tokens and cost) count also for a stopped run: it resumes
                env["compute"] = clock.stop()
                if hasattr(runner, "usage"):
                    env["api_usage"] = runner.usage(before)
                update_run(engine, run_id, environment={**env, "runner_counters": dict(runner.info.counters)})
        finally:
            if owned:
                runner.close()
    mark_finished(engine, pending, on_progress)


class ComputeClock:
    """Seconds a run held its model on one device kind (``cuda`` or ``cpu``): wall seconds of the model stage and
    this process's CPU seconds, added to those of earlier attempts (a resumed run keeps counting). The generation
    cost the leaderboard shows (device-seconds per run) comes from here."""

    def __init__(self, device: str, before: dict[str, Any] | None):
        self.device = "cuda" if str(device).startswith("cuda") else "cpu"
        self.before = before if isinstance(before, dict) and before.get("device") == self.device else {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> dict[str, Any]:
        return {"device": self.device,
                "seconds": round(float(self.before.get("seconds", 0.0)) + time.perf_counter() - self.wall, 3),
                "cpu_seconds": round(float(self.before.get("cpu_seconds", 0.0)) + time.process_time() - self.cpu, 3)}


def _execute(committer: ChunkCommitter, spec: RunSpec, execution: ExecutionSpec, runner: Runner,
             todo: list[WorkUnit], should_stop: Callable[[], str | None]) -> None:
    """Run and commit chunk after chunk; ``should_stop`` is checked before each chunk and, through the runner's
    ``interrupt``, between its batches and decoding steps (an interrupted chunk is dropped, as at a kill)."""
    runner.interrupt = should_stop
    try:
        for chunk in chunk_units(todo, execution.batch_policy.chunk_items_on(runner.info.device)):
            reason = should_stop()
            if reason:
                raise RunStopped(reason)
            prompts = [unit_prompt(spec, u, runner.tokenizer) for u in chunk]
            committer.commit(chunk, list(zip(prompts, run_units(runner, spec, chunk, prompts))))
    except Interrupted as stop:
        raise RunStopped(stop.reason) from None
    finally:
        runner.interrupt = None


@retry_transient
def update_run(engine: Engine, run_id: int, **values: Any) -> None:
    """Set columns of one run in its own short transaction (progress must be visible while the run goes on)."""
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        for key, value in values.items():
            setattr(run, key, value)
        session.add(run)
        session.commit()


@dataclass
class PendingRun:
    """A run's full plan, its two specs and the (item, order) pairs already stored. ``execute_run`` and the Ray
    driver load it the same way (``load_pending``), so both resume exactly alike."""

    run: EvalRun
    spec: RunSpec
    execution: ExecutionSpec
    units: list[WorkUnit]
    done: set[tuple[int, int]]

    @property
    def todo(self) -> list[WorkUnit]:
        """The units with no stored row yet, in plan order."""
        return [u for u in self.units if (u.suite_item_id, u.order_index) not in self.done]


@retry_transient
def load_pending(engine: Engine, run_id: int) -> PendingRun:
    """Plan run ``run_id`` from its stored spec and read which of its units already have rows.

    Raises ValueError when there is no such run.
    """
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise ValueError(f"no run with id {run_id}")
        spec, execution = stored_specs(run)
        units = plan_units(selected_items(session, spec, run.suite_id), spec)
        done = set(session.exec(select(ItemResult.item_id, ItemResult.order_index)
                                .where(ItemResult.run_id == run_id)).all())
    return PendingRun(run, spec, execution, units, done)


class ChunkCommitter:
    """Commits a run's finished chunks and keeps its progress (count, per-task detail, ETA) current.

    One place for both executors (``execute_run`` and the Ray driver), so stored rows and progress look the same
    whoever ran the model. ``pending.done`` grows as chunks are committed; the ETA (``evaluator.engine.progress``)
    measures from creation, so create it when the model is ready.
    """

    def __init__(self, engine: Engine, pending: PendingRun, on_progress: Callable[[int, int], None] | None):
        self.engine, self.pending, self.on_progress = engine, pending, on_progress
        self.progress = RunProgress(pending.spec, pending.units, pending.done)

    def commit(self, chunk: list[WorkUnit], rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Store one chunk's (prompt, ItemResult values) per unit, then update the run's progress and ETA."""
        run, done = self.pending.run, self.pending.done
        insert_rows(self.engine, [result_row(run, unit, prompt, **values)
                                  for unit, (prompt, values) in zip(chunk, rows)])
        self.progress.record(chunk, done)
        total = len(self.pending.units)
        update_run(self.engine, run.id, progress_done=len(done), progress_total=total,
                   progress_detail={task: list(counts) for task, counts in self.progress.detail.items()},
                   eta_seconds=self.progress.seconds_left())
        if self.on_progress:
            self.on_progress(len(done), total)


def mark_finished(engine: Engine, pending: PendingRun, on_progress: Callable[[int, int], None] | None) -> None:
    """Mark every unit of a run done (also when nothing was left to run) and report it."""
    units = pending.units
    total = len(units)
    update_run(engine, pending.run.id, progress_done=total, progress_total=total, eta_seconds=0.0,
               progress_detail=progress_detail(units, {(u.suite_item_id, u.order_index) for u in units}))
    if on_progress:
        on_progress(total, total)


