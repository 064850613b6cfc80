"""Scale one run out over Ray actors (optional: ``pip install -r requirements-ray.txt``).

Who does what:

- The driver is the worker process that holds the run's lease. It plans the run's pending (item, order) units
  (``evaluator.engine.units.plan_units``, minus rows already in ``item_results``), splits them into shards, sends
  chunks of each shard to that shard's actor, and commits the rows that come back with the same row-building and
  insert code as ``execute_run`` (``evaluator.engine.execution``: ``load_pending``, ``ChunkCommitter``), updating
  progress after every chunk. It checks
  ``should_stop()`` between chunks and while waiting (every ``poll_s``), so cancel and the time limit work as on
  one machine, and resuming works as on one machine: a stopped run keeps its committed chunks and the next call
  runs only what is missing.
- An actor (:class:`ShardActor`, one per GPU or per CPU slot) is sent the run's two specs (``RunSpec``: what fixes
  the numbers; ``ExecutionSpec``: backend, tensor parallelism, batch policy), loads the model once
  (``open_runner``), builds the exact prompts with its tokenizer and returns row values from
  ``evaluator.engine.execution.run_units``. It never touches the database, so a lost actor loses only its
  in-flight chunks; where actors ran is recorded in ``EvalRun.environment["distributed"]``, never in the specs.

Sharding: items (never single orders: the K orders of an item share a prompt prefix that the runner computes once)
are dealt longest-first to the least-loaded shard, by token count (``shard_cost``: the planner's prompt tokens, or
characters when no tokenizer is at hand, plus the item's generation budget), so shards finish together.

Failure: when an actor dies (``ray.exceptions.RayActorError``: killed, out of memory, node lost) its in-flight
chunks go back to the front of its shard and a fresh actor takes the shard over; after ``max_actor_restarts``
deaths of one shard's actors the run fails with a plain reason (its committed rows stay, so it can resume).
"""
from __future__ import annotations

import heapq
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from evaluator.benchmark.prompts import build_prompt
from evaluator.engine.execution import (
    ChunkCommitter,
    PendingRun,
    RunStopped,
    environment,
    load_pending,
    mark_finished,
    open_runner,
    run_units,
    unit_prompt,
    update_run,
)
from evaluator.engine.runners import ModelLoadError
from evaluator.engine.spec import ExecutionSpec, RunSpec, resolve_reasoning
from evaluator.engine.units import WorkUnit, chunk_units

RAY_NAMESPACE = "medbench"
RAY_MISSING = "the Ray backend needs Ray: pip install -r requirements-ray.txt"


class DistributedError(RuntimeError):
    """The distributed run cannot go on; the message is a plain reason for the Queue page."""


# ----- sharding --------------------------------------------------------------------------------------------------
@dataclass
class Shard:
    """The units one actor runs, whole items only, in suite order; ``cost`` is their token count."""

    index: int
    units: list[WorkUnit] = field(default_factory=list)
    cost: int = 0

    @property
    def item_count(self) -> int:
        return len({u.suite_item_id for u in self.units})


def shard_cost(units: list[WorkUnit], spec: RunSpec) -> int:
    """Tokens one item's units put through the model: every prompt (characters of the exact message, a fair proxy
    for tokens when comparing items) plus, for generated kinds, the generation budget of each order."""
    cost = 0
    for unit in units:
        cost += len(build_prompt(unit.task, unit.item, unit.permutation, None, spec.use_chat_template))
        if not spec.letter_scored(unit.task):
            cost += spec.max_new_tokens_for(unit.task)
    return cost


def shard_units(units: list[WorkUnit], spec: RunSpec, num_shards: int) -> list[Shard]:
    """Split ``units`` into ``num_shards`` shards of whole items with balanced token counts (greedy longest
    processing time first; ties go to the lower shard index, so the split is deterministic)."""
    if num_shards < 1:
        raise ValueError(f"num_shards must be at least 1, got {num_shards}")
    by_item: dict[int, list[WorkUnit]] = {}
    for unit in units:
        by_item.setdefault(unit.suite_item_id, []).append(unit)
    costs = {item_id: shard_cost(item_units, spec) for item_id, item_units in by_item.items()}
    shards = [Shard(i) for i in range(num_shards)]
    heap = [(0, i) for i in range(num_shards)]
    owner: dict[int, int] = {}
    for item_id in sorted(by_item, key=lambda i: (-costs[i], i)):
        load, index = heapq.heappop(heap)
        owner[item_id] = index
        shards[index].cost += costs[item_id]
        heapq.heappush(heap, (load + costs[item_id], index))
    for unit in units:  # suite order inside a shard: resumes and chunk contents stay predictable
        shards[owner[unit.suite_item_id]].units.append(unit)
    return shards


# ----- the actor -------------------------------------------------------------------------------------------------
@dataclass
class ChunkResult:
    """What an actor sends back for one chunk: (prompt, row values) per unit, and what computing it cost."""

    rows: list[tuple[str, dict[str, Any]]]
    wall_s: float
    cpu_s: float


class ShardActor:
    """Holds one model replica; ``run_chunk`` turns units into (prompt, row values). Wrapped by ``ray.remote``
    in :func:`_actor_class`, so this module imports without Ray."""

    def __init__(self, spec_data: dict[str, Any], execution_data: dict[str, Any], device: str):
        self.spec = RunSpec.model_validate(spec_data)
        execution = ExecutionSpec.model_validate(execution_data)
        self.error: str | None = None
        self.runner = None
        try:
            self.runner = open_runner(self.spec, execution, device)
            self.spec = resolve_reasoning(self.spec, self.runner.tokenizer)  # as execute_run does
        except ModelLoadError as exc:
            self.error = str(exc)

    def ready(self) -> tuple[str | None, dict[str, Any]]:
        """(load error or None, the runner's environment): the driver waits on this before sending work."""
        if self.runner is None:
            return self.error, {}
        return None, {**environment(self.runner), "pid": os.getpid(), "node": os.uname().nodename}

    def run_chunk(self, units: list[WorkUnit]) -> ChunkResult:
        """The exact prompts and ItemResult values of ``units`` (the single-process chunk step, on this actor),
        with the wall and CPU seconds it took: CPU below wall means the actor waited for a core."""
        if self.runner is None:  # a replacement actor that could not load the model
            raise ModelLoadError(self.error or "the model is not loaded")
        wall, cpu = time.perf_counter(), time.process_time()
        prompts = [unit_prompt(self.spec, u, self.runner.tokenizer) for u in units]
        rows = list(zip(prompts, run_units(self.runner, self.spec, units, prompts)))
        return ChunkResult(rows, time.perf_counter() - wall, time.process_time() - cpu)


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise DistributedError(RAY_MISSING) from None
    return ray


def _actor_class() -> Any:
    return _ray().remote(ShardActor)


def _ensure_ray(address: str | None) -> Any:
    """Connect to the Ray cluster (``address``, else ``RAY_ADDRESS``, else a local one) unless connected."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, namespace=RAY_NAMESPACE, include_dashboard=False, log_to_driver=False)
    return ray


def actor_name(run_id: int, shard: int, generation: int, driver: str) -> str:
    """Named actors: operators see them in ``ray list actors``; tests find one to kill. ``driver`` (host:pid of
    the worker) keeps names unique when a run's lease moved to another worker while the old one still lives."""
    return f"run{run_id}-shard{shard}-gen{generation}-{driver}"


# ----- the driver ------------------------------------------------------------------------------------------------
@dataclass
class _ShardState:
    shard: Shard
    pending: deque[list[WorkUnit]]
    actor: Any = None
    generation: int = 0
    in_flight: dict[Any, list[WorkUnit]] = field(default_factory=dict)  # object ref -> its chunk
    busy_s: float = 0.0  # wall seconds its actors spent on committed chunks
    cpu_s: float = 0.0  # CPU seconds of the same


class _Driver:
    """One distributed execution of one run: actors, dispatch, commits, progress, stop, restarts."""

    def __init__(self, ray: Any, engine: Engine, pending: PendingRun, shards: list[Shard], *, device: str,
                 resources: dict[str, float], in_flight: int, max_restarts: int, poll_s: float,
                 should_stop: Callable[[], str | None], on_progress: Callable[[int, int], None] | None):
        self.ray, self.engine, self.run, self.spec, self.execution = (ray, engine, pending.run, pending.spec,
                                                                     pending.execution)
        self.shards = shards
        self.device, self.resources, self.depth = device, resources, in_flight
        self.max_restarts, self.poll_s = max_restarts, poll_s
        self.should_stop = should_stop
        self.restarts = 0
        self.states: list[_ShardState] = []
        self.driver = f"{socket.gethostname()}:{os.getpid()}"
        self.environments: list[dict[str, Any]] = []
        self.committer = ChunkCommitter(engine, pending, on_progress)

    # -- actors --
    def start_actor(self, state: _ShardState) -> None:
        state.actor = _actor_class().options(
            name=actor_name(self.run.id, state.shard.index, state.generation, self.driver), namespace=RAY_NAMESPACE,
            max_restarts=0, **self.resources,
        ).remote(self.spec.model_dump(mode="json"), self.execution.model_dump(mode="json"), self.device)

    def wait_ready(self, states: list[_ShardState]) -> None:
        """Every actor loaded its model; the first load error ends the run as ModelLoadError."""
        for state in states:
            while True:
                try:
                    error, env = self.ray.get(state.actor.ready.remote())
                    break
                except self.ray.exceptions.RayActorError as exc:
                    self.replace_actor(state, exc)
            if error is not None:
                raise ModelLoadError(error)
            self.environments.append(env)

    def replace_actor(self, state: _ShardState, exc: BaseException) -> None:
        """A dead actor's chunks go back to the front of its shard; a fresh actor takes the shard over."""
        self.restarts += 1
        if state.generation >= self.max_restarts:
            deaths = state.generation + 1
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DistributedError(f"shard {state.shard.index} lost its actor {deaths} time{'s' * (deaths > 1)}; "
                                   f"last: {last}")
        for chunk in reversed(list(state.in_flight.values())):
            state.pending.appendleft(chunk)
        state.in_flight.clear()
        self.ray.kill(state.actor, no_restart=True)
        state.generation += 1
        self.start_actor(state)

    def kill_all(self, states: list[_ShardState]) -> None:
        for state in states:
            if state.actor is not None:
                self.ray.kill(state.actor, no_restart=True)

    # -- work --
    def fill(self, state: _ShardState) -> None:
        while state.pending and len(state.in_flight) < self.depth:
            chunk = state.pending.popleft()
            state.in_flight[state.actor.run_chunk.remote(chunk)] = chunk

    def commit(self, state: _ShardState, chunk: list[WorkUnit], result: ChunkResult) -> None:
        self.committer.commit(chunk, result.rows)
        state.busy_s += result.wall_s
        state.cpu_s += result.cpu_s

    def check_stop(self) -> None:
        reason = self.should_stop()
        if reason:
            raise RunStopped(reason)

    def execute(self) -> None:
        per_chunk = self.execution.batch_policy.chunk_items_on(self.device)
        self.states = [_ShardState(s, deque(chunk_units(s.units, per_chunk))) for s in self.shards]
        states = self.states
        try:
            for state in states:
                self.start_actor(state)
            self.wait_ready(states)
            update_run(self.engine, self.run.id, environment=self.environment())
            self.check_stop()
            for state in states:
                self.fill(state)
            owner = {ref: state for state in states for ref in state.in_flight}
            while owner:
                ready, _ = self.ray.wait(list(owner), num_returns=1, timeout=self.poll_s)
                for ref in ready:
                    state = owner.pop(ref, None)
                    if state is None or ref not in state.in_flight:
                        continue  # its actor died and the chunk was already re-queued
                    try:
                        results = self.ray.get(ref)
                    except self.ray.exceptions.RayActorError as exc:
                        for stale in state.in_flight:
                            owner.pop(stale, None)
                        self.replace_actor(state, exc)  # not waited for: other shards keep committing
                    except self.ray.exceptions.RayTaskError as exc:
                        if isinstance(exc.cause, ModelLoadError):
                            raise ModelLoadError(str(exc.cause)) from None
                        raise
                    else:
                        self.commit(state, state.in_flight.pop(ref), results)
                    self.check_stop()
                    self.fill(state)
                    owner.update({r: state for r in state.in_flight})
                if not ready:
                    self.check_stop()
        finally:
            self.kill_all(states)
        update_run(self.engine, self.run.id, environment=self.environment())

    def environment(self) -> dict[str, Any]:
        """The first actor's environment (every actor runs the same image) plus how the run was spread."""
        first = dict(self.environments[0]) if self.environments else {}
        first.pop("pid", None)
        first["chunk_items"] = self.execution.batch_policy.chunk_items_on(self.device)  # as execute_run records it
        first["distributed"] = {
            "executor": "ray", "ray": self.ray.__version__, "actors": len(self.shards),
            "actor_restarts": self.restarts,
            "shards": [{"items": s.shard.item_count, "units": len(s.shard.units), "tokens": s.shard.cost,
                        "busy_s": round(s.busy_s, 3), "cpu_s": round(s.cpu_s, 3)} for s in self.states],
            "actor_resources": self.resources, "chunks_in_flight_per_actor": self.depth,
            "nodes": sorted({env.get("node", "") for env in self.environments}),
            "devices": sorted({env.get("device", "") for env in self.environments}),
        }
        first.pop("node", None)
        return first


def _resources(ray: Any, execution: ExecutionSpec, num_actors: int,
               gpus_per_actor: float | None) -> tuple[str, dict[str, float]]:
    """The device actors load on and the Ray resources each asks for; a cluster too small is a plain error
    (Ray would otherwise wait forever for actors it cannot place)."""
    cluster = ray.cluster_resources()
    gpus = float(cluster.get("GPU", 0))
    if gpus_per_actor is None:
        gpus_per_actor = float(execution.tensor_parallel) if execution.device != "cpu" and gpus >= 1 else 0.0
    if gpus_per_actor < 0:
        raise ValueError(f"gpus_per_actor must not be negative, got {gpus_per_actor}")
    if gpus_per_actor > 0:
        if execution.device == "cpu":
            raise ValueError("the run asks for device 'cpu' but gpus_per_actor > 0")
        if num_actors * gpus_per_actor > gpus:
            raise ValueError(f"{num_actors} actors × {gpus_per_actor:g} GPU need {num_actors * gpus_per_actor:g} "
                             f"GPUs but the Ray cluster has {gpus:g}")
        return "cuda", {"num_gpus": gpus_per_actor, "num_cpus": 1}
    if execution.device == "cuda":
        raise ValueError("the run asks for device 'cuda' but the Ray cluster has no GPU")
    cpus = float(cluster.get("CPU", 0))
    if num_actors > cpus:
        raise ValueError(f"{num_actors} CPU actors need {num_actors} CPUs but the Ray cluster has {cpus:g}")
    return "cpu", {"num_cpus": 1}


def execute_run_distributed(run_id: int, *, num_actors: int, engine: Engine | None = None,
                            should_stop: Callable[[], str | None] = lambda: None,
                            on_progress: Callable[[int, int], None] | None = None,
                            gpus_per_actor: float | None = None, chunks_in_flight: int = 2,
                            max_actor_restarts: int = 3, poll_s: float = 1.0,
                            ray_address: str | None = None) -> None:
    """``execute_run`` over ``num_actors`` Ray actors (same contract: see docs/architecture.md, "Evaluation").

    Raises ValueError for bad arguments or a cluster too small (nothing written), ModelLoadError when an actor
    cannot load the model, RunStopped when ``should_stop()`` returns a reason, DistributedError when a shard's
    actors keep dying. ``gpus_per_actor`` None: one GPU per actor where the cluster has GPUs (and the run does
    not ask for CPU), else one CPU. ``chunks_in_flight`` chunks are queued per actor so it never idles while the
    driver commits.
    """
    from common.db import get_engine

    if num_actors < 1:
        raise ValueError(f"num_actors must be at least 1, got {num_actors}")
    if chunks_in_flight < 1:
        raise ValueError(f"chunks_in_flight must be at least 1, got {chunks_in_flight}")
    if max_actor_restarts < 0:
        raise ValueError(f"max_actor_restarts must not be negative, got {max_actor_restarts}")
    engine = engine or get_engine()
    pending = load_pending(engine, run_id)
    spec, todo = pending.spec, pending.todo
    if todo:
        ray = _ensure_ray(ray_address)
        device, resources = _resources(ray, pending.execution, num_actors, gpus_per_actor)
        shards = [s for s in shard_units(todo, spec, min(num_actors, len({u.suite_item_id for u in todo})))
                  if s.units]
        driver = _Driver(ray, engine, pending, shards, device=device, resources=resources,
                         in_flight=chunks_in_flight, max_restarts=max_actor_restarts, poll_s=poll_s,
                         should_stop=should_stop, on_progress=on_progress)
        driver.execute()
    mark_finished(engine, pending, on_progress)
