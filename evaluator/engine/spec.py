"""A run's two specs: what determines its numbers (``RunSpec``) and how it executes (``ExecutionSpec``).

Why two: the numbers of a run follow from the model and its pinned revision, dtype, suite version, K, seed, prompt
template, generation settings, answer protocol and reasoning; the backend, device, tensor parallelism and batch
policy only decide how fast (and, up to the device's numerics, nothing else). HELM keeps its RunSpec apart from its
execution spec for the same reason. They are stored apart (``EvalRun.run_spec`` / ``EvalRun.execution_spec``), so a
worker that places a run on its GPUs records that in the execution part and never rewrites what fixed the
numbers; the reproducibility card and the exports show both, labelled.

This module imports no runner, execution or scoring code: the planner, placement, progress and the Ray actors
depend on it alone.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluator import EVALUATOR_VERSION
from evaluator.benchmark.permutations import DEFAULT_K
from evaluator.benchmark.prompts import PROMPT_TEMPLATE_VERSION, template_thinks
from evaluator.benchmark.protocols import DEFAULT_REASONING_BUDGET, OFFICIAL_PROTOCOL, AnswerProtocol
from evaluator.benchmark.suites.visibility import PUBLIC
from evaluator.benchmark.tasks import LOGPROB_KINDS, TASKS, TaskSpec
from evaluator.engine.order_secret import permutation_seed
from evaluator.tables import EvalRun, Suite
from submissions.tables import ModelEntry

STOP_STRINGS = ["<|im_end|>", "<|endoftext|>"]
DEFAULT_CHUNK_ITEMS = {"cpu": 16, "cuda": 256}  # items per committed chunk when the batch policy leaves it unset
GENERATE_SHORT_ANSWER_TOKENS = 32  # single-choice / yes-no under `generate`: room for "答案：B. <option text>"


class RunSpecError(ValueError):
    """A run cannot be created as asked; the message lists every problem."""


# ----- what determines the numbers -------------------------------------------------------------------------------
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
    """Everything that determines a run's numbers (nothing about where or how fast it runs: ``ExecutionSpec``)."""

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


# ----- how it executes -------------------------------------------------------------------------------------------
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


class Placement(BaseModel):
    """Where the worker that last claimed the run put it (``evaluator.engine.placement.place``): the worker (its
    lease owner name, host:pid:device), the device kind, the GPUs it sees and why tensor parallelism was chosen."""

    model_config = ConfigDict(extra="forbid")
    worker: str
    device: str
    gpus: int = 0
    gpu_memory_gb: float | None = None
    gpu_ids: str | None = None  # CUDA_VISIBLE_DEVICES where set
    note: str | None = None


class ExecutionSpec(BaseModel):
    """How a run executes: backend, device, tensor parallelism and batch policy (asked at creation; a worker raises
    ``tensor_parallel`` for a model too big for one GPU) and the worker's ``placement``."""

    model_config = ConfigDict(extra="forbid")
    backend: Literal["auto", "transformers", "vllm"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    tensor_parallel: int = Field(default=1, ge=1, description="GPUs one model replica spans (vLLM; e.g. 70B)")
    batch_policy: BatchPolicy = Field(default_factory=BatchPolicy)
    placement: Placement | None = None

    def device_on(self, default: str) -> str:
        """The device to load on: the run's own, else the one its worker placed it on, else ``default`` (the
        process's ``MEDBENCH_DEVICE``)."""
        if self.device != "auto":
            return self.device
        return self.placement.device if self.placement is not None else default


EXECUTION_OVERRIDES = {"backend", "device", "tensor_parallel", "token_budget", "chunk_items"}
OVERRIDABLE = {"dtype", "use_chat_template", "tasks", "limit_per_task", "k", "seed", "trust_remote_code",
               "protocol", "thinks", "reasoning_budget", "chat_template_kwargs"} | EXECUTION_OVERRIDES


# ----- building and reading specs --------------------------------------------------------------------------------
def _default_generation(protocol: str = OFFICIAL_PROTOCOL) -> dict[str, Any]:
    tokens = {name: spec.max_new_tokens for name, spec in TASKS.items()}
    if protocol == "generate":  # a written answer needs more than the one letter the cue asks for
        tokens.update({name: max(n, GENERATE_SHORT_ANSWER_TOKENS) for name, n in tokens.items()
                       if TASKS[name].kind in LOGPROB_KINDS})
    return {"do_sample": False, "num_beams": 1, "stop": STOP_STRINGS, "max_new_tokens": tokens}


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def build_specs(model: ModelEntry, suite: Suite, suite_tasks: set[str],
                **overrides: Any) -> tuple[RunSpec, ExecutionSpec]:
    """The specs of a new run of ``model`` on ``suite``; raise RunSpecError listing every bad override."""
    problems = [f"unknown setting {key!r} (allowed: {', '.join(sorted(OVERRIDABLE))})"
                for key in overrides if key not in OVERRIDABLE]
    batch = {key: overrides.pop(key) for key in ("token_budget", "chunk_items") if key in overrides}
    execution_fields = {key: overrides.pop(key) for key in ("backend", "device", "tensor_parallel")
                        if key in overrides}
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
    problems = []
    try:
        spec = RunSpec(model=model.hub_id, revision=model.commit_sha, local_path=model.local_path,
                       source=model.source or "hf", served=model.served if model.source == "api" else None,
                       suite_name=suite.name, suite_version=suite.version,
                       generation=_default_generation(fields["protocol"]), reasoning=ReasoningSpec(**reasoning),
                       **fields)
    except ValidationError as exc:
        problems.append(_errors(exc))
    try:
        execution = ExecutionSpec(batch_policy=BatchPolicy(**batch), **execution_fields)
    except ValidationError as exc:
        problems.append(_errors(exc))
    if problems:
        raise RunSpecError("; ".join(problems))
    _check_served(spec, suite_tasks)
    return spec, execution


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
    reasoning = spec.reasoning.model_copy(deep=True)
    if reasoning.thinks is None:
        reasoning.thinks, reasoning.source = template_thinks(tokenizer), "template"
    template = getattr(tokenizer, "chat_template", None)
    if spec.use_chat_template and isinstance(template, str) and "enable_thinking" in template:
        reasoning.chat_template_kwargs.setdefault("enable_thinking", reasoning.thinks)
    return spec.model_copy(update={"reasoning": reasoning})


def stored_specs(run: EvalRun) -> tuple[RunSpec, ExecutionSpec]:
    """The run's two specs as stored (a row from before the split is split by ``EvalRun.specs``)."""
    run_part, execution = run.specs()
    return RunSpec.model_validate(run_part), ExecutionSpec.model_validate(execution)
