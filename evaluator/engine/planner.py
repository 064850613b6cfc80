"""The run planner: how long a run will take and how much GPU memory it needs, before an organizer approves it.

Why a planner: a MedBench-sized suite is ~300,000 items, and choice items are asked under 5 option orders, so a run
is ~1.5 M prompts. Whether that takes one hour or ten, and whether a model fits one GPU at all, must be known
before the run is queued, not discovered by the worker.

How it counts (the same work the evaluator does, pass by pass)
----------------------------------------------------------------
1. Units: the run's (item, order) pairs from ``evaluator.engine.units.plan_units`` (same K, seed, tasks and limits
   as the run spec), in the chunks ``execute_run`` commits (``batch_policy.chunk_items`` items each) and, inside a
   chunk, in the same mode groups as ``run_units`` (letter scoring, or generation per ``max_new_tokens``).
2. Tokens: the exact prompt of every unit from ``evaluator.benchmark.prompts.build_prompt``, tokenized with the model's
   tokenizer when the model folder is available; otherwise its characters, counted as ``1 / chars_per_token``
   tokens each (``CHARS_PER_TOKEN`` = 1.4 for Chinese text with a Qwen/Llama-3-class tokenizer, an assumption).
   Large suites can be sampled (``max_items_per_task``): each counted item then stands for n_task / n_sampled,
   and ``target_items`` projects the task mix to another suite size. Either way a task's counted items are
   cycled up to full chunks, so batches are as wide as the real suite's would be.
3. Passes, per backend:
   - ``transformers`` (CPU, or GPU without vLLM): exactly the runner's layout. Letter items: one shared-prefix
     group per item (``runners.batching.group_by_prefix`` with the item keys ``run_units`` passes) packed into
     token-budget batches (``budget_batches``), two passes per batch (prefix, then every order's suffix), where
     sharing pays; otherwise one left-padded pass per batch (``letter_batches``, the runner's own choice).
     Generation: ``generation_batches`` of prompt + ``max_new_tokens`` (an item's stem prefilled once where that
     pays, by the letter rule); one prefill pass per batch (two with shared stems), then
     ``max_new_tokens * decode_fill`` decode steps (``decode_fill`` 1.0: every answer runs to its budget).
   - ``vllm`` (GPU): prefix caching reads an item's shared prefix once; prefill passes of up to
     ``VLLM_BATCHED_TOKENS`` tokens; the generating units of a chunk decode concurrently, as many as the KV cache
     holds (memory left after weights and runtime, / (prompt + max_new_tokens) tokens each), at most
     ``VLLM_MAX_SEQS``. So ``batch_policy.chunk_items`` bounds the concurrency: 16 items leave an H100 idle,
     hence its default of 256 on GPU (16 on CPU).
4. Time of one pass (a roofline): ``overhead + max((2 * P + 4 * layers * hidden * context) * tokens /
   (peak_flops * compute_eff), (weight_bytes + kv_bytes_read) / (bandwidth * bandwidth_eff))`` where P is the
   parameter count, ``tokens`` the padded tokens the pass computes, ``context`` the mean number of earlier tokens
   each attends to (attention: 1-3% of a 7B model's FLOPs at 500 tokens, most of a tiny test model's) and
   ``kv_bytes_read`` the keys/values attention reads (decode).
   Tensor parallelism over t GPUs divides both terms by ``t * TP_EFFICIENCY``; r data-parallel replicas (Ray
   actors, one per GPU or per t GPUs) divide the total by r.
5. Memory: weights (P * bytes per parameter) + KV cache of the largest concurrent batch
   (``2 * layers * kv_heads * head_dim * bytes`` per token) + activations of the largest pass
   (tokens * (2 * hidden + intermediate) * bytes) + logits (rows * vocab * 4 bytes) + ``GPU_RUNTIME_BYTES`` for the
   CUDA context. A model whose weights exceed ``WEIGHTS_SHARE`` of ``MEMORY_HEADROOM`` of one GPU is placed with
   tensor parallelism over 2, 4 or 8 GPUs (vLLM only); ``max_params_fitting`` is the inverse.

Device profiles: H100 SXM (989 TFLOP/s dense bf16, 3.35 TB/s, 80 GB), H200 (same compute, 4.8 TB/s, 141 GB),
A100 (312 TFLOP/s, 2.0 TB/s, 80 GB); CPU figures are measured on the machine (``calibrate_cpu``: a matmul's
FLOP/s, a copy's bandwidth, and a model's per-pass and per-decode-step overheads), because CPUs differ too much
for a table.
Efficiencies (50% of peak FLOP/s in prefill, 75% of bandwidth in decode, 2 ms per pass for vLLM) are
assumptions; ``bench/bench_planner.py`` prints the estimate beside a measured run.
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.display import GB
from evaluator.benchmark.items import Item
from evaluator.benchmark.prompts import build_prompt
from evaluator.engine.spec import STOP_STRINGS, BatchPolicy, RunSpec, build_specs
from evaluator.engine.units import WorkUnit, chunk_units, plan_units, selected_items
from evaluator.engine.runners.batching import PrefixGroup, ScoreRow, generation_batches, group_by_prefix, letter_batches
from evaluator.engine.runners.transformers_backend import DEFAULT_BUDGET
from evaluator.tables import Suite, SuiteItem

CHARS_PER_TOKEN = 1.4
TP_EFFICIENCY = 0.85  # share of linear speed-up kept by tensor parallelism (all-reduce per layer)
MEMORY_HEADROOM = 0.9  # share of a GPU's memory the planner lets a run use
WEIGHTS_SHARE = 0.8  # of that, the most the weights may take (the rest: KV cache and activations)
GPU_RUNTIME_BYTES = 1.5e9  # CUDA context, allocator slack, cuBLAS workspaces
VLLM_BATCHED_TOKENS = 8192  # vLLM's default max_num_batched_tokens per prefill step
VLLM_MAX_SEQS = 256  # vLLM's default max_num_seqs
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


class PlanError(ValueError):
    """The planner was asked something it cannot estimate; the message says what, in one line."""


# ----- what the model is -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelShape:
    """The architecture facts the estimate needs (from config.json, or guessed from the parameter count)."""

    params: int
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    source: str = "config"

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


# Qwen2.5 shapes (params, layers, hidden, kv heads, head dim, intermediate, vocab): typical modern GQA models.
_REFERENCE_SHAPES = [
    (494_000_000, 24, 896, 2, 64, 4864, 151936),
    (1_540_000_000, 28, 1536, 2, 128, 8960, 151936),
    (3_090_000_000, 36, 2048, 2, 128, 11008, 151936),
    (7_620_000_000, 28, 3584, 4, 128, 18944, 152064),
    (14_700_000_000, 48, 5120, 8, 128, 13824, 152064),
    (32_800_000_000, 64, 5120, 8, 128, 27648, 152064),
    (72_700_000_000, 80, 8192, 8, 128, 29568, 152064),
]


def guess_shape(params: int) -> ModelShape:
    """The reference shape nearest in parameter count (log scale), with the given count: used before a model is
    downloaded, when only the hub's parameter count is known."""
    if params <= 0:
        raise PlanError(f"the parameter count must be positive, got {params}")
    ref = min(_REFERENCE_SHAPES, key=lambda s: abs(math.log(s[0] / params)))
    return ModelShape(params, *ref[1:], source=f"guessed from {params / 1e9:.2f}B parameters")


def shape_from_config(model_path: str | Path, params: int) -> ModelShape:
    """The shape from a local model folder's config.json (Llama/Qwen/Mistral field names)."""
    path = Path(model_path) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot read {path}: {exc}") from None
    config = config.get("text_config", config)
    try:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        return ModelShape(params=params, layers=int(config["num_hidden_layers"]), hidden=hidden,
                          kv_heads=int(config.get("num_key_value_heads") or heads),
                          head_dim=int(config.get("head_dim") or hidden // heads),
                          intermediate=int(config.get("intermediate_size") or 4 * hidden),
                          vocab=int(config.get("vocab_size") or 32000), source=f"config {path}")
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{path} lacks the architecture field {exc}") from None


# ----- where it runs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceProfile:
    """Peak figures of one device and the share of them a real run reaches."""

    name: str
    kind: Literal["gpu", "cpu"]
    peak_flops: float  # FLOP/s at the run's dtype (dense)
    memory_bandwidth: float  # bytes/s
    memory_bytes: float
    compute_efficiency: float = 0.5
    bandwidth_efficiency: float = 0.75
    pass_overhead_s: float = 0.002  # fixed cost of one forward pass (launches, scheduler, Python)
    decode_overhead_s: float | None = None  # fixed cost of one decode step (None: pass_overhead_s)
    backend: Literal["vllm", "transformers"] = "vllm"


PROFILES: dict[str, DeviceProfile] = {
    "h100": DeviceProfile("H100 SXM 80GB", "gpu", 989e12, 3.35e12, 80e9),
    "h200": DeviceProfile("H200 141GB", "gpu", 989e12, 4.8e12, 141e9),
    "a100": DeviceProfile("A100 80GB", "gpu", 312e12, 2.0e12, 80e9),
}


def calibrate_cpu(model_path: str | Path | None = None, *, threads: int | None = None,
                  seconds: float = 1.0) -> DeviceProfile:
    """A CPU profile from figures measured here on small fixed inputs: fp32 matmul FLOP/s, copy bandwidth and,
    given a model folder, the time of one 16-token forward pass and of one greedy decode step (with the stop
    strings the runner uses) beyond their FLOPs: the per-pass overheads that dominate small models."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    flops = _rate(lambda: a @ b, 2 * 512**3, seconds / 4)
    big = torch.empty(32 * 1024 * 1024 // 4)
    bandwidth = _rate(lambda: big.clone(), 2 * big.numel() * 4, seconds / 4)
    overhead = decode_overhead = 0.0
    if model_path is not None:
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32,
                                                     use_safetensors=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        ids = torch.ones((1, 16), dtype=torch.long)
        params = sum(p.numel() for p in model.parameters())
        steps = 16
        config = GenerationConfig(max_new_tokens=steps, min_new_tokens=steps, do_sample=False,
                                  pad_token_id=model.generation_config.pad_token_id, stop_strings=STOP_STRINGS)
        with torch.inference_mode():
            per_pass = 1.0 / _rate(lambda: model(input_ids=ids, logits_to_keep=1), 1, seconds / 4)
            per_generate = 1.0 / _rate(lambda: model.generate(input_ids=ids, generation_config=config,
                                                              tokenizer=tokenizer), 1, seconds / 4)
        overhead = max(0.0, per_pass - 2 * params * 16 / flops)
        decode_overhead = max(0.0, (per_generate - per_pass) / steps - 2 * params / flops)
    return DeviceProfile(f"CPU ({torch.get_num_threads()} threads, measured)", "cpu", flops, bandwidth,
                         memory_bytes=_ram_bytes(), compute_efficiency=1.0, bandwidth_efficiency=1.0,
                         pass_overhead_s=overhead, decode_overhead_s=decode_overhead, backend="transformers")


def _rate(work: Any, amount: float, seconds: float) -> float:
    """``amount`` per second of ``work`` (after one warm-up call), timed for about ``seconds``."""
    work()
    count, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds or count < 3:
        work()
        count += 1
    return amount * count / elapsed


def _ram_bytes() -> float:
    import os

    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


_CALIBRATION_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _calibrated_cpu() -> DeviceProfile:
    return calibrate_cpu()


def _measured_cpu() -> DeviceProfile:
    """This machine's CPU profile, measured once per process: a calibration takes about a second, too slow to
    repeat on every redraw of the moderation page, and the machine does not change while the process lives. The
    lock keeps two first page requests from calibrating at once (each would measure the other's load)."""
    with _CALIBRATION_LOCK:
        return _calibrated_cpu()


def get_profile(device: str | DeviceProfile) -> DeviceProfile:
    """A named profile ("h100", "h200", "a100", "cpu": measured here, once per process) or the profile given."""
    if isinstance(device, DeviceProfile):
        return device
    if device == "cpu":
        return _measured_cpu()
    try:
        return PROFILES[device]
    except KeyError:
        raise PlanError(f"unknown device {device!r}: use one of {', '.join([*PROFILES, 'cpu'])}") from None


def max_params_fitting(memory_bytes: float, dtype: str = "bfloat16", gpus: int = 1) -> int:
    """The largest parameter count whose weights the planner places on ``gpus`` GPUs of ``memory_bytes`` each
    (tensor parallel over all of them): what a worker may claim (see docs/deployment.md, "Several workers")."""
    if dtype not in DTYPE_BYTES:
        raise PlanError(f"unknown dtype {dtype!r}: use {', '.join(DTYPE_BYTES)}")
    per_gpu = MEMORY_HEADROOM * WEIGHTS_SHARE * memory_bytes - GPU_RUNTIME_BYTES
    return max(0, int(per_gpu * gpus / DTYPE_BYTES[dtype]))


# ----- the estimate ----------------------------------------------------------------------------------------------
@dataclass
class Estimate:
    """Time and memory of one run on one device profile, with the counts they come from."""

    model_params: int
    dtype: str
    device: str
    device_kind: str  # "gpu" | "cpu"
    backend: str
    gpus: int
    tensor_parallel: int
    replicas: int
    fits: bool
    items: int
    units: int
    prompt_tokens: float  # every prompt in full
    computed_tokens: float  # tokens through the model: prefill (shared prefixes once, padding included) + decode
    decode_tokens: float
    passes: float  # forward passes, decode steps included
    letter_passes: float  # of which letter scoring (the transformers runner's ``forward_passes`` counts these...)
    generate_batches: float  # ...plus one per generation batch (two where the batch prefills shared stems)
    weights_gb: float
    kv_cache_gb: float
    activations_gb: float
    peak_memory_gb: float  # per GPU
    time_s: float
    counted_with: str
    shape_source: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the organizer's moderation page."""
        if not self.fits:
            return (f"does not fit: {self.model_params / 1e9:.1f}B parameters need {self.weights_gb:.0f} GB of "
                    f"weights, more than 8 × {self.device} can hold")
        where = f"{self.replicas} × {self.device}" if self.tensor_parallel == 1 else (
            f"{self.replicas} × {self.tensor_parallel}-GPU tensor parallel {self.device} (vLLM)")
        per_gpu = " per GPU" if self.device_kind == "gpu" else ""
        line = (f"≈ {_duration(self.time_s)} on {where}, {self.dtype}: {self.units:,} prompts ({self.items:,} items), "
                f"{_count(self.computed_tokens)} tokens computed, {_count(self.decode_tokens)} of them generated; "
                f"memory ≈ {self.peak_memory_gb:.1f} GB{per_gpu} (weights {self.weights_gb / self.tensor_parallel:.1f}"
                f" + KV cache {self.kv_cache_gb:.1f} + activations {self.activations_gb:.1f})")
        return "; ".join([line, *self.notes])


def _count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} k"
    return f"{n:.0f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class _Tally:
    """Running totals while the passes are walked."""

    time_s: float = 0.0
    passes: float = 0.0
    computed: float = 0.0
    decode: float = 0.0
    peak_tokens: float = 0.0  # padded tokens of the largest pass (activations)
    peak_kv_tokens: float = 0.0  # tokens whose keys/values are resident at once (KV cache)
    peak_rows: float = 0.0
    letter_passes: float = 0.0
    generate_batches: float = 0.0


class _Costs:
    """Time of one pass on the profile (see the module docstring, step 4)."""

    def __init__(self, shape: ModelShape, profile: DeviceProfile, dtype_bytes: int, tensor_parallel: int):
        speedup = tensor_parallel * TP_EFFICIENCY if tensor_parallel > 1 else 1.0
        self.flops = profile.peak_flops * profile.compute_efficiency * speedup
        self.bandwidth = profile.memory_bandwidth * profile.bandwidth_efficiency * speedup
        self.weight_bytes = shape.params * dtype_bytes
        self.kv_per_token = shape.kv_bytes_per_token(dtype_bytes)
        self.overhead = profile.pass_overhead_s
        self.decode_overhead = profile.decode_overhead_s
        if self.decode_overhead is None:
            self.decode_overhead = profile.pass_overhead_s
        self.params = shape.params
        self.attention_width = shape.layers * shape.hidden  # attention FLOPs per (token, context token) / 4
        # vLLM keeps as many sequences running as its KV cache holds: the memory left after weights and runtime
        parts = max(tensor_parallel, 1)
        free = MEMORY_HEADROOM * profile.memory_bytes - self.weight_bytes / parts - GPU_RUNTIME_BYTES
        self.kv_capacity_tokens = max(free, 0.0) * parts / self.kv_per_token  # KV heads are split over the GPUs

    def pass_time(self, tokens: float, kv_tokens_read: float = 0.0, *, context: float = 0.0,
                  decode: bool = False) -> float:
        """``context``: the mean number of earlier tokens each computed token attends to."""
        compute = (2 * self.params + 4 * self.attention_width * context) * tokens / self.flops
        memory = (self.weight_bytes + kv_tokens_read * self.kv_per_token) / self.bandwidth
        return (self.decode_overhead if decode else self.overhead) + max(compute, memory)


def _sequences(units: list[WorkUnit], tokenizer: Any, use_chat_template: bool) -> list[Sequence[Any]]:
    """Each unit's exact prompt as token ids (with a tokenizer) or as its characters (without)."""
    prompts = [build_prompt(u.task, u.item, u.permutation, tokenizer, use_chat_template) for u in units]
    if tokenizer is None:
        return prompts
    return tokenizer(prompts, add_special_tokens=False)["input_ids"]


def _chunk_plan(units: list[WorkUnit], seqs: list[Sequence[Any]], weights: list[float],
                chunk_items: int) -> tuple[list[tuple[list[WorkUnit], float]], dict[int, Sequence[Any]]]:
    """The chunks ``execute_run`` would commit, each with how many real chunks it stands for, and each unit's
    sequence (by ``id``).

    Counting every item (all weights 1): exactly ``chunk_units``. Sampled or projected: a task whose counted items
    stand for more would fill its chunks with more items, and batch them together, so each task's counted items
    are cycled (as distinct copies) up to a full chunk, and every chunk stands for real items / items cycled.
    """
    seq_of = {id(u): s for u, s in zip(units, seqs)}
    if all(w == 1.0 for w in weights):
        return [(chunk, 1.0) for chunk in chunk_units(units, chunk_items)], seq_of
    by_task: dict[str, dict[int, list[WorkUnit]]] = defaultdict(dict)
    task_weight: dict[str, float] = {}
    for unit, weight in zip(units, weights):
        by_task[unit.task.name].setdefault(unit.suite_item_id, []).append(unit)
        task_weight[unit.task.name] = weight
    plan: list[tuple[list[WorkUnit], float]] = []
    for task, item_units in by_task.items():
        groups = list(item_units.values())
        real = len(groups) * task_weight[task]
        length = len(groups) if real <= len(groups) else min(round(real), max(len(groups), chunk_items))
        virtual: list[WorkUnit] = []
        for n in range(length):
            copy = n // len(groups)
            for unit in groups[n % len(groups)]:
                twin = unit if copy == 0 else replace(unit, suite_item_id=-(copy * 10**9 + unit.suite_item_id))
                seq_of[id(twin)] = seq_of[id(unit)]
                virtual.append(twin)
        plan += [(chunk, real / length) for chunk in chunk_units(virtual, chunk_items)]
    return plan, seq_of


def _walk(plan: list[tuple[list[WorkUnit], float]], seq_of: dict[int, Sequence[Any]], spec: RunSpec, backend: str,
          budget: int, scale: float, decode_fill: float, costs: _Costs, tally: _Tally) -> None:
    """Add every pass of the run (chunk by chunk, mode group by mode group, as ``run_units``) to ``tally``."""
    for chunk, weight in plan:
        groups: dict[int, list[WorkUnit]] = defaultdict(list)  # max_new_tokens (0: letter scoring) -> units
        for unit in chunk:
            new = 0 if spec.letter_scored(unit.task) else spec.max_new_tokens_for(unit.task)
            groups[new].append(unit)
        for max_new, members in groups.items():
            part = _Tally()
            group_seqs = [seq_of[id(u)] for u in members]
            if max_new == 0:
                keys = [str(u.suite_item_id) for u in members]  # run_units names each item's prefix group
                _letter_passes(group_seqs, keys, backend, budget, scale, costs, part)
            else:
                keys = [str(u.suite_item_id) for u in members]
                _generate_passes(group_seqs, keys, max_new, backend, budget, scale, decode_fill, costs, part)
            tally.time_s += part.time_s * weight
            tally.passes += part.passes * weight
            tally.computed += part.computed * weight
            tally.decode += part.decode * weight
            tally.peak_tokens = max(tally.peak_tokens, part.peak_tokens)
            tally.peak_kv_tokens = max(tally.peak_kv_tokens, part.peak_kv_tokens)
            tally.peak_rows = max(tally.peak_rows, part.peak_rows)
            tally.letter_passes += part.letter_passes * weight
            tally.generate_batches += part.generate_batches * weight


def _add_pass(tally: _Tally, costs: _Costs, tokens: float, rows: float, kv_resident: float,
              kv_read: float = 0.0, context: float = 0.0) -> None:
    tally.time_s += costs.pass_time(tokens, kv_read, context=context)
    tally.passes += 1
    tally.computed += tokens
    tally.peak_tokens = max(tally.peak_tokens, tokens)
    tally.peak_kv_tokens = max(tally.peak_kv_tokens, kv_resident)
    tally.peak_rows = max(tally.peak_rows, rows)


def _letter_passes(seqs: list[Sequence[Any]], keys: list[str], backend: str, budget: int, scale: float,
                   costs: _Costs, tally: _Tally) -> None:
    before = tally.passes
    if backend == "vllm":  # prefix caching: vLLM always shares
        batches = [[PrefixGroup(prefix=list(seqs[m[0]][:p]), rows=[ScoreRow(i, list(seqs[i][p:])) for i in m])
                    for p, m in group_by_prefix(seqs, keys=keys)]]
    else:  # the runner's own plan: shared prefixes only where they pay
        batches, _ = letter_batches([list(s) for s in seqs], keys, budget)
    _letter_pass_list(batches, backend, scale, costs, tally)
    tally.letter_passes += tally.passes - before


def _letter_pass_list(batches: list[list[PrefixGroup]], backend: str, scale: float, costs: _Costs,
                      tally: _Tally) -> None:
    if backend == "vllm":
        prefix_groups = batches[0]  # prefix caching: every distinct token once, in steps of VLLM_BATCHED_TOKENS
        unique = sum(len(g.prefix) + sum(len(r.suffix) for r in g.rows) for g in prefix_groups) / scale
        steps = max(1, math.ceil(unique / VLLM_BATCHED_TOKENS))
        for _ in range(steps):
            _add_pass(tally, costs, unique / steps, sum(len(g.rows) for g in prefix_groups), unique,
                      context=unique / sum(len(g.rows) for g in prefix_groups) / 2)
        return
    for batch in batches:
        prefix_max = max(len(g.prefix) for g in batch)
        rows = sum(len(g.rows) for g in batch)
        suffix_max = max(g.suffix_len for g in batch)
        if prefix_max:
            _add_pass(tally, costs, len(batch) * prefix_max / scale, len(batch), len(batch) * prefix_max / scale,
                      context=prefix_max / scale / 2)
        kv = (rows * (prefix_max + suffix_max)) / scale
        _add_pass(tally, costs, rows * suffix_max / scale, rows, kv, kv_read=kv,
                  context=(prefix_max + suffix_max / 2) / scale)


def _generate_passes(seqs: list[Sequence[Any]], keys: list[str], max_new: int, backend: str, budget: int,
                     scale: float, decode_fill: float, costs: _Costs, tally: _Tally) -> None:
    steps = max(1, round(max_new * decode_fill))
    shared: list[tuple[float, float]] = []  # per wave: (prefix pass tokens, longest suffix) of the runner's plan
    if backend == "vllm":  # as many sequences at once as the KV cache holds, at most VLLM_MAX_SEQS
        context = max(len(s) for s in seqs) / scale + max_new
        width = max(1, min(VLLM_MAX_SEQS, int(costs.kv_capacity_tokens // context)))
        waves = [list(range(len(seqs)))[i:i + width] for i in range(0, len(seqs), width)]
    else:  # the runner's batches: rows x (prompt + max_new) within the token budget, stems shared where it pays
        batches, _ = generation_batches([list(s) for s in seqs], keys, budget, round(max_new * scale))
        waves = [[row.request for g in batch for row in g.rows] for batch in batches]
        shared = [(len(batch) * max(len(g.prefix) for g in batch) / scale, max(g.suffix_len for g in batch) / scale)
                  for batch in batches]
    for wi, wave in enumerate(waves):
        prompt_tokens = [len(seqs[i]) / scale for i in wave]
        rows = len(wave)
        prefill = sum(prompt_tokens) if backend == "vllm" else rows * max(prompt_tokens)
        if shared and shared[wi][0]:  # the stems once, then every row's own suffix on top of their cache
            _add_pass(tally, costs, shared[wi][0], len(wave), shared[wi][0], context=shared[wi][0] / 2)
            tally.generate_batches += 1
            prefill = rows * shared[wi][1]
        _add_pass(tally, costs, prefill, rows, prefill, context=max(prompt_tokens) / 2)
        tally.generate_batches += 1
        # decode: ``steps`` passes of one token per row; attention reads a context growing by one token per step,
        # taken at its mean (the roofline is nearly linear in it)
        mean_context = sum(prompt_tokens) / rows + (steps + 1) / 2
        tally.time_s += steps * costs.pass_time(rows, kv_tokens_read=rows * mean_context, context=mean_context,
                                                decode=True)
        tally.passes += steps
        tally.computed += rows * steps
        tally.decode += rows * steps
        tally.peak_kv_tokens = max(tally.peak_kv_tokens, rows * (max(prompt_tokens) + steps))
        tally.peak_rows = max(tally.peak_rows, rows)


def _sample(items: list[tuple[SuiteItem, Item]],
            max_per_task: int | None) -> tuple[list[tuple[SuiteItem, Item]], dict[int, float]]:
    """Evenly spaced items of each task (all when ``max_per_task`` is None) and what each one stands for."""
    by_task: dict[str, list[tuple[SuiteItem, Item]]] = defaultdict(list)
    for pair in items:
        by_task[pair[1].task].append(pair)
    chosen: set[int] = set()
    weight: dict[int, float] = {}
    for pairs in by_task.values():
        n = len(pairs)
        take = n if max_per_task is None or n <= max_per_task else max_per_task
        picks = {round(i * (n - 1) / max(take - 1, 1)) for i in range(take)} if take < n else set(range(n))
        for i in picks:
            chosen.add(pairs[i][0].id)
            weight[pairs[i][0].id] = n / len(picks)
    return [p for p in items if p[0].id in chosen], weight


def tensor_parallel_for(weight_bytes: float, gpu_memory_bytes: float) -> int:
    """GPUs (a power of two) the weights are split over so that each GPU's share fits one GPU of
    ``gpu_memory_bytes``; above 8 the model does not fit one node. The worker places runs with this too."""
    room = MEMORY_HEADROOM * WEIGHTS_SHARE * gpu_memory_bytes
    parts = 1
    while weight_bytes / parts + GPU_RUNTIME_BYTES > room and parts <= 8:
        parts *= 2
    return parts


def _tensor_parallel(weight_bytes: float, profile: DeviceProfile) -> int:
    """1 on CPU, else :func:`tensor_parallel_for` the profile's GPU memory."""
    return tensor_parallel_for(weight_bytes, profile.memory_bytes) if profile.kind == "gpu" else 1


def estimate_spec(session: Session, spec: RunSpec, suite_id: int, model_params: int, *,
                  batch_policy: BatchPolicy | None = None,
                  device: str | DeviceProfile = "h100", gpus: int = 1, model_path: str | Path | None = None,
                  backend: str | None = None, decode_fill: float = 1.0, max_items_per_task: int | None = 2000,
                  chars_per_token: float = CHARS_PER_TOKEN, dtype: str | None = None,
                  target_items: int | None = None) -> Estimate:
    """Estimate the run ``spec`` describes (see the module docstring for the model). ``target_items``
    projects the same task mix to another suite size (e.g. the demo suite's mix at MedBench's 300,901 items)."""
    if model_params <= 0:
        raise PlanError(f"the parameter count must be positive, got {model_params}")
    if gpus < 1:
        raise PlanError(f"gpus must be at least 1, got {gpus}")
    if not 0 < decode_fill <= 1:
        raise PlanError(f"decode_fill must be in (0, 1], got {decode_fill}")
    if chars_per_token <= 0:
        raise PlanError(f"chars_per_token must be positive, got {chars_per_token}")
    if target_items is not None and target_items < 1:
        raise PlanError(f"target_items must be at least 1, got {target_items}")
    profile = get_profile(device)
    if profile.kind == "cpu":
        gpus = 1  # one CPU process: a GPU count does not apply
    backend = backend or profile.backend
    if backend not in ("vllm", "transformers"):
        raise PlanError(f"unknown backend {backend!r}: use vllm or transformers")
    dtype = dtype or spec.dtype
    if dtype not in (*DTYPE_BYTES, "auto"):
        raise PlanError(f"unknown dtype {dtype!r}: use {', '.join(DTYPE_BYTES)} or auto")
    if profile.kind == "cpu":
        dtype = "float32"  # the CPU runner always computes in float32
    elif dtype in ("auto", None):
        dtype = "bfloat16"
    dtype_bytes = DTYPE_BYTES[dtype]
    shape = shape_from_config(model_path, model_params) if model_path else guess_shape(model_params)

    tokenizer = None
    if model_path is not None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    scale = 1.0 if tokenizer is not None else chars_per_token
    items = selected_items(session, spec, suite_id)
    if not items:
        raise PlanError("the run has no items to estimate")
    sampled, item_weight = _sample(items, max_items_per_task)
    units = plan_units(sampled, spec)
    projection = target_items / len(items) if target_items else 1.0
    weights = [item_weight[u.suite_item_id] * projection for u in units]
    seqs = _sequences(units, tokenizer, spec.use_chat_template)
    batch_policy = batch_policy or BatchPolicy()
    budget_tokens = batch_policy.token_budget or DEFAULT_BUDGET["cpu" if profile.kind == "cpu" else "cuda"]

    weight_bytes = shape.params * dtype_bytes
    tensor_parallel = _tensor_parallel(weight_bytes, profile)
    if tensor_parallel > 1:
        backend = "vllm"
    fits = tensor_parallel <= 8
    costs = _Costs(shape, profile, dtype_bytes, tensor_parallel if fits else 1)
    tally = _Tally()
    plan, seq_of = _chunk_plan(units, seqs, weights,
                               batch_policy.chunk_items_on("cpu" if profile.kind == "cpu" else "cuda"))
    _walk(plan, seq_of, spec, backend, round(budget_tokens * scale), scale, decode_fill, costs, tally)

    replicas = max(1, gpus // tensor_parallel) if fits else 0
    kv_bytes = tally.peak_kv_tokens * shape.kv_bytes_per_token(dtype_bytes) / tensor_parallel
    activations = (tally.peak_tokens * (2 * shape.hidden + shape.intermediate) * dtype_bytes
                   + tally.peak_rows * shape.vocab * 4) / tensor_parallel
    runtime = GPU_RUNTIME_BYTES if profile.kind == "gpu" else 0.0
    peak = weight_bytes / tensor_parallel + kv_bytes + activations + runtime
    notes = []
    if fits and tensor_parallel > 1:
        notes.append(f"weights need tensor parallelism over {tensor_parallel} GPUs: place with vLLM")
    if fits and gpus < tensor_parallel:
        notes.append(f"needs {tensor_parallel} GPUs, {gpus} given")
    if peak > profile.memory_bytes:
        notes.append("the largest batch exceeds device memory: lower batch_policy.token_budget")
    return Estimate(
        model_params=model_params, dtype=dtype, device=profile.name, device_kind=profile.kind, backend=backend,
        gpus=gpus, tensor_parallel=tensor_parallel, replicas=replicas, fits=fits, items=target_items or len(items),
        units=round(sum(weights)), prompt_tokens=sum(len(s) * w for s, w in zip(seqs, weights)) / scale,
        computed_tokens=tally.computed, decode_tokens=tally.decode, passes=tally.passes,
        letter_passes=tally.letter_passes, generate_batches=tally.generate_batches,
        weights_gb=weight_bytes / GB, kv_cache_gb=kv_bytes / GB, activations_gb=activations / GB,
        peak_memory_gb=peak / GB, time_s=tally.time_s / max(replicas, 1),
        counted_with=f"tokenizer of {model_path}" if tokenizer is not None else f"{chars_per_token} chars/token",
        shape_source=shape.source, notes=notes)


def estimate_for_model(session: Session, model: Any, suite: Suite, **options: Any) -> Estimate:
    """Estimate the run the worker would create for ``model`` (a ModelEntry) on ``suite``: what the moderation
    page shows before approval. Needs ``model.params`` (from the hub's safetensors metadata)."""
    if not model.params:
        raise PlanError(f"{model.hub_id} has no known parameter count")
    from evaluator.benchmark.suites.importer import load_items

    spec, execution = build_specs(model, suite, {item.task for _, item in load_items(session, suite.id)})
    return estimate_spec(session, spec, suite.id, int(model.params), batch_policy=execution.batch_policy, **options)


def plan_summary(submission_id: int, *, engine: Engine | None = None, device: str = "h100", gpus: int = 1,
                 max_items_per_task: int = 500) -> str:
    """One line for the moderation page: the estimate of the run a submission would get on the active suite, or
    why there is none. Pages call this instead of opening sessions themselves."""
    from common.db import get_engine
    from evaluator.benchmark.suites.importer import get_active_suite
    from submissions.tables import ModelEntry, Submission

    with Session(engine or get_engine()) as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            return f"no estimate: no submission #{submission_id}"
        suite = get_active_suite(session)
        if suite is None:
            return "no estimate: no suite is active"
        model = session.get(ModelEntry, submission.model_id)
        try:
            estimate = estimate_for_model(session, model, suite, device=device, gpus=gpus,
                                          max_items_per_task=max_items_per_task)
        except PlanError as exc:
            return f"no estimate: {exc}"
    return f"{estimate.summary()} (suite {suite.name}, planner estimate)"
