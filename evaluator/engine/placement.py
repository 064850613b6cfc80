"""Where a claimed run goes on this worker's GPUs: one GPU, or tensor parallel over several (vLLM).

Why here and not at approval: the run spec is written when a submission is queued, before anyone knows which
worker (one 80 GB GPU, or eight) will take it. The worker claims only runs whose weights its GPUs can hold
(``weight_budget``, the lease filter) and then records where it runs the run in the run's execution spec
(``ExecutionSpec.placement``), setting ``tensor_parallel`` and the vLLM backend there for a model too big for one
GPU (a 70B model in bf16 is 140 GB). The run spec, which fixes the numbers, is never rewritten. The rule is the
planner's (``planner.tensor_parallel_for``), so the moderation page's estimate and the worker agree.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from common.display import GB
from evaluator.engine.planner import DTYPE_BYTES, max_params_fitting, tensor_parallel_for
from evaluator.engine.spec import ExecutionSpec, Placement, RunSpec


class PlacementError(RuntimeError):
    """The run cannot be placed on this worker's GPUs; the message is a plain reason for the Queue page."""


@dataclass(frozen=True)
class Accelerators:
    """The GPUs one worker serves: how many, the memory of each, and whether vLLM (the only backend here that
    splits a model over GPUs) is installed."""

    count: int
    memory_bytes: float
    vllm: bool
    ids: str | None = None  # CUDA_VISIBLE_DEVICES where set: which of the machine's GPUs these are

    @property
    def max_tensor_parallel(self) -> int:
        """The most GPUs one replica may span: a power of two (attention heads split evenly), at most 8 (one
        node), and 1 without vLLM."""
        if not self.vllm:
            return 1
        parts = 1
        while parts * 2 <= min(self.count, 8):
            parts *= 2
        return parts

    def weight_budget(self) -> int:
        """Bytes of weights (bf16 terms) this worker can place: what it may claim (``leases.claim_next_run``)."""
        return max_params_fitting(self.memory_bytes, gpus=self.max_tensor_parallel) * 2


def resolve_device(setting: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``; the worker's lease owner name carries it and
    the Moderation page's estimate assumes it (submissions.planning), so both read this one answer."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def detect_accelerators(device: str) -> Accelerators | None:
    """This machine's visible GPUs (``CUDA_VISIBLE_DEVICES`` applies); None on CPU, where memory is not the limit
    that decides."""
    if device != "cuda":
        return None
    import importlib.util

    import torch

    return Accelerators(count=torch.cuda.device_count(),
                        memory_bytes=float(torch.cuda.get_device_properties(0).total_memory),
                        vllm=importlib.util.find_spec("vllm") is not None,
                        ids=os.environ.get("CUDA_VISIBLE_DEVICES"))


def place(spec: RunSpec, execution: ExecutionSpec, params: int | None, gpus: Accelerators | None, *, worker: str,
          device: str) -> ExecutionSpec:
    """The execution spec to run with on this worker (``worker``, on ``device`` with ``gpus``): its ``placement``
    says where, and ``placement.note`` why tensor parallelism was raised (None: as asked). ``spec`` is only read:
    its dtype sizes the weights.

    Raises PlacementError when the weights need more GPUs than this worker can join, or a backend that cannot
    split them (the lease filter keeps such runs away from such workers; this is the last check)."""
    placement = Placement(worker=worker, device=device, gpus=gpus.count if gpus else 0,
                          gpu_memory_gb=round(gpus.memory_bytes / GB, 1) if gpus else None,
                          gpu_ids=gpus.ids if gpus else None)
    update: dict[str, object] = {"placement": placement}
    raised = _raised_tensor_parallel(spec, execution, params, gpus)
    if raised is not None:
        needed, placement.note = raised
        update.update(tensor_parallel=needed, backend="vllm")
    return execution.model_copy(update=update)


def _raised_tensor_parallel(spec: RunSpec, execution: ExecutionSpec, params: int | None,
                            gpus: Accelerators | None) -> tuple[int, str] | None:
    """(GPUs one replica must span, why) when the weights need more than the run asks for; None when they fit."""
    if gpus is None or not params:
        return None
    weight_bytes = params * DTYPE_BYTES.get(spec.dtype, 2)  # "auto" is bf16 on GPU
    needed = tensor_parallel_for(weight_bytes, gpus.memory_bytes)
    if needed <= execution.tensor_parallel:
        return None
    what = (f"the weights ({weight_bytes / GB:.0f} GB in {spec.dtype if spec.dtype != 'auto' else 'bfloat16'}) "
            f"need tensor parallelism over {needed} GPUs of {gpus.memory_bytes / GB:.0f} GB")
    if needed > 8:
        raise PlacementError(f"{what}: more than one 8-GPU node")
    if needed > gpus.max_tensor_parallel:
        missing = "vLLM is not installed on this worker" if not gpus.vllm else f"this worker has {gpus.count}"
        raise PlacementError(f"{what}; {missing}")
    if execution.backend == "transformers":
        raise PlacementError(f"{what}, but the run asks for the transformers backend, which cannot split a model")
    return needed, f"placed over {needed} GPUs with tensor parallelism (vLLM): {what}"

