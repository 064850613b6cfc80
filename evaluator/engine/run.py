"""Runs: create a run with its full spec, execute it (resumably), score it (idempotently), export it as JSON.

The run spec fully determines a run: model and pinned revision, dtype, suite version, K, seed, prompt template
version, generation settings and batch policy. It is stored on the run (``EvalRun.run_spec``) and in every
export; library versions and the device go to ``EvalRun.environment`` when the run executes.

``execute_run`` stores only what the model produced (prompt, raw output, letter scores) per (item, order),
committing in chunks so a killed process resumes where it stopped; ``score_run`` derives everything else from
those rows, so changing a scoring rule never needs the model again.
"""
from __future__ import annotations

import json
import math
import platform
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.retry import retry_transient
from evaluator import EVALUATOR_VERSION
from evaluator.engine.cost import generation_cost
from evaluator.benchmark.items import Item
from evaluator.benchmark.protocols import DEFAULT_REASONING_BUDGET, OFFICIAL_PROTOCOL, AnswerProtocol
from evaluator.benchmark.permutations import DEFAULT_K, item_orders, shown_letters
from evaluator.engine.progress import RunProgress, progress_detail
from evaluator.benchmark.prompts import PROMPT_TEMPLATE_VERSION, build_prompt, candidates_of, opens_reasoning
from evaluator.engine.runners import (
    ChoiceRequest,
    Generation,
    GenerationRequest,
    Interrupted,
    ModelLoadError,
    RequestError,
    Runner,
    load_runner,
)
from evaluator.benchmark.scoring import ItemOutcome, get_metric
from evaluator.benchmark.scoring.aggregate import TaskFigures, bootstrap_scores, choice_extras, position_bias
from evaluator.benchmark.scoring.aggregate import accuracy as pooled_accuracy
from evaluator.benchmark.scoring.extract import EXTRACT_KINDS, answer_settled, split_reasoning
from evaluator.benchmark.scoring.aggregate import robustness as pooled_robustness
from evaluator.benchmark.scoring.aggregate import strict_accuracy as pooled_strict
from evaluator.score_history import keep_scores
from evaluator.engine.order_secret import permutation_seed
from evaluator.benchmark.suites.visibility import PUBLIC
from evaluator.tables import DimensionScore, EvalRun, ItemResult, Suite, SuiteItem, TaskScore
from evaluator.benchmark.tasks import CHOICE_KINDS, LOGPROB_KINDS, TASKS, Kind, TaskSpec, get_task
from submissions.tables import ModelEntry

MEAN_METRICS = frozenset({"accuracy", "exact_set_accuracy", "cloze_accuracy"})  # task score = mean of row scores
STOP_STRINGS = ["<|im_end|>", "<|endoftext|>"]
DEFAULT_CHUNK_ITEMS = {"cpu": 16, "cuda": 256}  # items per committed chunk when the run spec leaves it unset


class RunStopped(RuntimeError):
    """``should_stop()`` asked the run to stop ("cancelled", "time limit"); rows done so far are kept."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RunSpecError(ValueError):
    """A run cannot be created as asked; the message lists every problem."""


class BatchPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_budget: int | None = Field(default=None, ge=64, description="padded tokens per pass; None: by device")
    sort: str = "longest_first"
    prefix_sharing: bool = True
    chunk_items: int | None = Field(default=None, ge=1,
                                    description="items whose rows are committed together; None: by device")

    def chunk_items_on(self, device: str) -> int:
        """Items per chunk on ``device`` ("cpu" or "cuda"): the set value, else the device's default.

        Why by device: a chunk bounds how many items run concurrently. On CPU 16 items keep a killed run's loss and
        the cancel latency small; on a GPU 16 items leave vLLM's batch mostly empty (docs/architecture.md, the
        planner's projection: 5.7 h vs 1.1 h for MedBench's 300,901 items with a 7B model on one H100)."""
        return self.chunk_items or DEFAULT_CHUNK_ITEMS["cuda" if device.startswith("cuda") else "cpu"]


GENERATE_SHORT_ANSWER_TOKENS = 32  # single-choice / yes-no under `generate`: room for "答案：B. <option text>"


class ReasoningSpec(BaseModel):
    """Whether the model reasons before answering (``<think>…</think>``), and within what budget.

    ``thinks`` None: decided when the model loads, from its chat template (``source`` "template"); an organizer's
    decision at moderation (``ModelEntry.reasoning``) wins (``source`` "organizer"). ``chat_template_kwargs`` are
    passed to the chat template (e.g. ``enable_thinking``; set from ``thinks`` when the template has that switch
    and the run does not say)."""

    model_config = ConfigDict(extra="forbid")
    thinks: bool | None = None
    source: Literal["unknown", "template", "organizer", "run"] = "unknown"
    budget: int = Field(default=DEFAULT_REASONING_BUDGET, ge=1, le=131072)
    chat_template_kwargs: dict[str, Any] = Field(default_factory=dict)


class ServedSpec(BaseModel):
    """A served model's endpoint (``ModelEntry.served``): its URL, the model name it reports, the name of the API
    key's secret (never the key), and the decoding settings (temperature, top_p, seed, prices per 1M tokens)."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str
    model_name: str
    key_name: str | None = None
    decoding: dict[str, Any] = Field(default_factory=dict)
    logprobs: bool = False


class RunSpec(BaseModel):
    """Everything that determines a run's numbers."""

    model_config = ConfigDict(extra="forbid")
    model: str
    revision: str
    source: Literal["hf", "modelscope", "api"] = "hf"
    served: ServedSpec | None = None  # source "api" only
    local_path: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    use_chat_template: bool = True
    trust_remote_code: bool = False
    suite_name: str
    suite_version: str
    tasks: list[str] | None = None  # None: every task of the suite
    limit_per_task: int | None = Field(default=None, ge=1)  # quick runs: the first N items of each task
    k: int = Field(default=DEFAULT_K, ge=1, le=24)
    seed: int = 0
    # a private suite's option orders: derived from the server's secret (evaluator.engine.order_secret), never public
    permutation_seed: int | None = None
    prompt_template_version: str = PROMPT_TEMPLATE_VERSION
    protocol: AnswerProtocol = OFFICIAL_PROTOCOL  # how a choice answer is obtained (spec section 7)
    reasoning: ReasoningSpec = Field(default_factory=ReasoningSpec)
    generation: dict[str, Any] = Field(default_factory=dict)
    batch_policy: BatchPolicy = Field(default_factory=BatchPolicy)
    backend: Literal["auto", "transformers", "vllm"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    tensor_parallel: int = Field(default=1, ge=1, description="GPUs one model replica spans (vLLM; e.g. 70B)")
    evaluator_version: str = EVALUATOR_VERSION

    def max_new_tokens_for(self, task: TaskSpec) -> int:
        """The generation length limit of ``task`` in this run (the spec's, else the task's default), plus the
        thinking budget for a reasoning model."""
        answer = int(self.generation.get("max_new_tokens", {}).get(task.name, task.max_new_tokens))
        return answer + (self.reasoning.budget if self.reasoning.thinks else 0)

    def letter_scored(self, task: TaskSpec) -> bool:
        """Whether ``task``'s answers come from letter log-probs (``logprob`` protocol, single choice and yes/no)
        rather than from generated text."""
        return self.protocol == "logprob" and task.kind in LOGPROB_KINDS

    def template_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the chat template (``chat_template_kwargs``)."""
        return dict(self.reasoning.chat_template_kwargs)


OVERRIDABLE = {"dtype", "use_chat_template", "tasks", "limit_per_task", "k", "seed", "backend", "device",
               "token_budget", "chunk_items", "trust_remote_code", "tensor_parallel", "protocol", "thinks",
               "reasoning_budget", "chat_template_kwargs"}


def _default_generation(protocol: str = OFFICIAL_PROTOCOL) -> dict[str, Any]:
    tokens = {name: spec.max_new_tokens for name, spec in TASKS.items()}
    if protocol == "generate":  # a written answer needs more than the one letter the cue asks for
        tokens.update({name: max(n, GENERATE_SHORT_ANSWER_TOKENS) for name, n in tokens.items()
                       if TASKS[name].kind in LOGPROB_KINDS})
    return {"do_sample": False, "num_beams": 1, "stop": STOP_STRINGS, "max_new_tokens": tokens}


def build_run_spec(model: ModelEntry, suite: Suite, suite_tasks: set[str], **overrides: Any) -> RunSpec:
    """The spec of a new run of ``model`` on ``suite``; raise RunSpecError listing every bad override."""
    problems = [f"unknown setting {key!r} (allowed: {', '.join(sorted(OVERRIDABLE))})"
                for key in overrides if key not in OVERRIDABLE]
    batch = {key: overrides.pop(key) for key in ("token_budget", "chunk_items") if key in overrides}
    reasoning = _reasoning_spec(model, overrides)
    tasks = overrides.get("tasks")
    if tasks is not None:
        if isinstance(tasks, str) or not tasks:
            problems.append("tasks must be a non-empty list of task names")
        else:
            problems += [f"task {t!r} is not in suite {suite.name!r}" for t in tasks if t not in suite_tasks]
    if problems:
        raise RunSpecError("; ".join(problems))
    fields = {key: value for key, value in overrides.items() if key in OVERRIDABLE}
    fields.setdefault("dtype", model.precision if model.precision in ("float32", "bfloat16", "float16") else "auto")
    fields.setdefault("use_chat_template", model.use_chat_template)
    fields.setdefault("trust_remote_code", bool(model.needs_remote_code and model.allow_remote_code))
    fields.setdefault("protocol", OFFICIAL_PROTOCOL)
    if suite.visibility != PUBLIC:
        fields["permutation_seed"] = permutation_seed(suite.version, int(fields.get("seed", 0)))
    try:
        spec = RunSpec(model=model.hub_id, revision=model.commit_sha, local_path=model.local_path,
                       source=model.source or "hf", served=model.served if model.source == "api" else None,
                       suite_name=suite.name, suite_version=suite.version,
                       generation=_default_generation(fields["protocol"]), reasoning=ReasoningSpec(**reasoning),
                       batch_policy=BatchPolicy(**batch), **fields)
    except ValidationError as exc:
        raise RunSpecError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    _check_served(spec, suite_tasks)
    return spec


def _check_served(spec: RunSpec, suite_tasks: set[str]) -> None:
    """A served model is letter-scored only where its endpoint returns top log-probs: refuse the run otherwise."""
    if spec.source != "api":
        return
    if spec.served is None:
        raise RunSpecError("a served (api) model needs its endpoint settings (ModelEntry.served)")
    if spec.served.logprobs:
        return
    lettered = sorted(name for name in (spec.tasks or suite_tasks) if name in TASKS and spec.letter_scored(TASKS[name]))
    if lettered:
        raise RunSpecError(f"{spec.model}: its endpoint returns no top log-probs, so letter scoring "
                           f"({', '.join(lettered)}) is refused; evaluate it under the generate protocol")


def _reasoning_spec(model: ModelEntry, overrides: dict[str, Any]) -> dict[str, Any]:
    """The reasoning part of a new spec: the run's own setting, else the organizers' (``ModelEntry.reasoning``),
    else undecided until the model's chat template is read (:func:`resolve_reasoning`)."""
    reasoning: dict[str, Any] = {}
    thinks = overrides.pop("thinks", None)
    organizer = getattr(model, "reasoning", None)
    if thinks is not None:
        reasoning.update(thinks=thinks, source="run")
    elif organizer is not None:
        reasoning.update(thinks=organizer, source="organizer")
    if "reasoning_budget" in overrides:
        reasoning["budget"] = overrides.pop("reasoning_budget")
    if "chat_template_kwargs" in overrides:
        reasoning["chat_template_kwargs"] = overrides.pop("chat_template_kwargs") or {}
    return reasoning


def resolve_reasoning(spec: RunSpec, tokenizer: Any) -> RunSpec:
    """``spec`` with ``reasoning.thinks`` decided: an undecided spec reads the chat template (a ``<think>`` tag or
    an ``enable_thinking`` switch). A template with ``enable_thinking`` is told the decision unless the run set
    it. Deterministic, so every executor (single process, Ray actors) resolves a run alike."""
    from evaluator.benchmark.prompts import template_thinks

    reasoning = spec.reasoning.model_copy(deep=True)
    if reasoning.thinks is None:
        reasoning.thinks, reasoning.source = template_thinks(tokenizer), "template"
    template = getattr(tokenizer, "chat_template", None)
    if spec.use_chat_template and isinstance(template, str) and "enable_thinking" in template:
        reasoning.chat_template_kwargs.setdefault("enable_thinking", reasoning.thinks)
    return spec.model_copy(update={"reasoning": reasoning})


# ----- work planning ---------------------------------------------------------------------------------------------
@dataclass
class WorkUnit:
    """One (item, order) to run."""

    suite_item_id: int
    item: Item
    task: TaskSpec
    order_index: int
    permutation: list[str]


def _load_items(session: Session, suite_id: int) -> list[tuple[SuiteItem, Item]]:
    from evaluator.benchmark.suites.importer import load_items

    return load_items(session, suite_id)


def selected_items(session: Session, spec: RunSpec, suite_id: int) -> list[tuple[SuiteItem, Item]]:
    """The suite's items this run covers (its tasks, the first ``limit_per_task`` of each), in suite order."""
    return select_items(spec, _load_items(session, suite_id))


def select_items(spec: RunSpec, items: list[tuple[SuiteItem, Item]]) -> list[tuple[SuiteItem, Item]]:
    """:func:`selected_items` on items already loaded."""
    seen: dict[str, int] = defaultdict(int)
    chosen = []
    for row, item in items:
        if item.task not in TASKS or (spec.tasks is not None and item.task not in spec.tasks):
            continue
        if spec.limit_per_task is not None and seen[item.task] >= spec.limit_per_task:
            continue
        seen[item.task] += 1
        chosen.append((row, item))
    return chosen


def plan_units(items: list[tuple[SuiteItem, Item]], spec: RunSpec) -> list[WorkUnit]:
    """Every (item, order) of the run, an item's orders adjacent (their prompts share a prefix)."""
    units = []
    for row, item in items:
        task = get_task(item.task)
        seed = spec.seed if spec.permutation_seed is None else spec.permutation_seed
        orders = item_orders(task.kind, item.options, candidates_of(item), spec.k, seed, item.id)
        units += [WorkUnit(row.id, item, task, i, perm) for i, perm in enumerate(orders)]
    return units


def create_run(session: Session, model: ModelEntry, suite: Suite, *, submission_id: int | None = None,
               priority: int = 0, **spec_overrides: Any) -> EvalRun:
    """A pending run of ``model`` on ``suite`` with its full run spec (flushed, not committed).

    Raises RunSpecError for unknown settings, bad values, tasks missing from the suite or an empty selection.
    """
    if model.id is None or suite.id is None:
        raise RunSpecError("model and suite must be saved before a run is created")
    items = _load_items(session, suite.id)
    spec = build_run_spec(model, suite, {item.task for _, item in items}, **spec_overrides)
    units = plan_units(select_items(spec, items), spec)
    if not units:
        raise RunSpecError(f"suite {suite.name!r} has no items for this run")
    run = EvalRun(submission_id=submission_id, model_id=model.id, suite_id=suite.id, suite_version=suite.version,
                  run_spec=spec.model_dump(mode="json"), protocol=spec.protocol, evaluator_version=EVALUATOR_VERSION,
                  status="pending",
                  priority=priority, progress_total=len(units), progress_detail=progress_detail(units, set()))
    session.add(run)
    session.flush()
    return run


# ----- execution ---------------------------------------------------------------------------------------------------
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


def open_runner(spec: RunSpec, device: str) -> Runner:
    """The run's runner: a served model's endpoint client, else the model loaded from local disk."""
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
    return load_runner(resolve_model_path(spec), dtype=spec.dtype, device=device, backend=spec.backend,
                       trust_remote_code=spec.trust_remote_code, token_budget=spec.batch_policy.token_budget,
                       tensor_parallel_size=spec.tensor_parallel)


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


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:500]


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
                    reason = exc.reason if isinstance(exc, RequestError) else _failure(exc)
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


def chunk_units(units: list[WorkUnit], items_per_chunk: int) -> list[list[WorkUnit]]:
    """Split units into commit chunks of ``items_per_chunk`` items, never splitting an item's orders."""
    chunks: list[list[WorkUnit]] = []
    current: list[WorkUnit] = []
    seen: set[int] = set()
    for unit in units:
        if unit.suite_item_id not in seen and len(seen) == items_per_chunk:
            chunks.append(current)
            current, seen = [], set()
        seen.add(unit.suite_item_id)
        current.append(unit)
    if current:
        chunks.append(current)
    return chunks


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
    spec = pending.spec
    todo = pending.todo
    if todo:
        owned = runner is None
        if runner is None:
            from common.settings import get_settings

            device = spec.device if spec.device != "auto" else get_settings().device  # MEDBENCH_DEVICE
            runner = open_runner(spec, device)
        try:
            spec = pending.spec = resolve_reasoning(spec, runner.tokenizer)
            env = {**environment(runner), "chunk_items": spec.batch_policy.chunk_items_on(runner.info.device)}
            update_run(engine, run_id, environment=env, run_spec=spec.model_dump(mode="json"))
            clock = ComputeClock(runner.info.device, (pending.run.environment or {}).get("compute"))
            before = (pending.run.environment or {}).get("api_usage")
            try:
                _execute(ChunkCommitter(engine, pending, on_progress), spec, runner, todo, should_stop)
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


def _execute(committer: ChunkCommitter, spec: RunSpec, runner: Runner, todo: list[WorkUnit],
             should_stop: Callable[[], str | None]) -> None:
    """Run and commit chunk after chunk; ``should_stop`` is checked before each chunk and, through the runner's
    ``interrupt``, between its batches and decoding steps (an interrupted chunk is dropped, as at a kill)."""
    runner.interrupt = should_stop
    try:
        for chunk in chunk_units(todo, spec.batch_policy.chunk_items_on(runner.info.device)):
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
    """A run's full plan and the (item, order) pairs already stored. ``execute_run`` and the Ray driver load it
    the same way (``load_pending``), so both resume exactly alike."""

    run: EvalRun
    spec: RunSpec
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
        spec = RunSpec.model_validate(run.run_spec)
        units = plan_units(selected_items(session, spec, run.suite_id), spec)
        done = set(session.exec(select(ItemResult.item_id, ItemResult.order_index)
                                .where(ItemResult.run_id == run_id)).all())
    return PendingRun(run, spec, units, done)


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


# ----- scoring -----------------------------------------------------------------------------------------------------
def _tagger() -> Callable[..., list[dict[str, Any]]] | None:
    try:
        from evaluator.benchmark.taxonomy import tag_item
    except ModuleNotFoundError as exc:
        if exc.name != "evaluator.benchmark.taxonomy":
            raise
        return None
    return tag_item


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
            outcome = ItemOutcome(details={"scoring_error": _failure(exc)})
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
    tag_item = _tagger()
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise ValueError(f"no run with id {run_id}")
        spec = RunSpec.model_validate(run.run_spec)
        items = {row.id: item for row, item in _load_items(session, run.suite_id)}
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
            if tag_item is not None:
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
    """Write the run spec, environment, per-item rows and scores of a run to one JSON file."""
    from common.db import get_engine

    engine = engine or get_engine()
    with Session(engine) as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise ValueError(f"no run with id {run_id}")
        rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                            .where(ItemResult.run_id == run_id)
                            .order_by(ItemResult.item_id, ItemResult.order_index)).all()
        tasks = session.exec(select(TaskScore).where(TaskScore.run_id == run_id).order_by(TaskScore.task)).all()
        dims = session.exec(select(DimensionScore).where(DimensionScore.run_id == run_id)
                            .order_by(DimensionScore.dimension)).all()
        payload = {
            "run": run.model_dump(mode="json", include={"id", "status", "suite_version", "evaluator_version",
                                                        "created_at", "started_at", "finished_at"}),
            "run_spec": run.run_spec,
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


def failure_detail(exc: BaseException) -> str:
    """The traceback kept for organizers when a run fails."""
    return "".join(traceback.format_exception(exc))
