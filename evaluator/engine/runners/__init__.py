"""Model runners: ``load_runner`` picks a backend (vLLM when installed and a GPU is present, else transformers)."""
from __future__ import annotations

import importlib.util

from evaluator.engine.runners.base import (ChoiceRequest, Generation, GenerationRequest, Interrupted, ModelLoadError,
                                           RequestError, Runner, RunnerInfo)

__all__ = ["ChoiceRequest", "Generation", "GenerationRequest", "Interrupted", "ModelLoadError", "RequestError",
           "Runner", "RunnerInfo", "load_runner", "pick_backend"]


def pick_backend(backend: str, device: str) -> str:
    """"auto" means vLLM when it is installed and a CUDA device will be used, else transformers."""
    if backend not in ("auto", "transformers", "vllm"):
        raise ModelLoadError(f"unknown backend {backend!r}: use auto, transformers or vllm")
    if backend != "auto":
        return backend
    import torch

    gpu = device != "cpu" and torch.cuda.is_available()
    return "vllm" if gpu and importlib.util.find_spec("vllm") is not None else "transformers"


def load_runner(
    model_path: str,
    *,
    dtype: str = "auto",
    device: str = "auto",
    backend: str = "auto",
    trust_remote_code: bool = False,
    token_budget: int | None = None,
    tensor_parallel_size: int = 1,
) -> Runner:
    """Load ``model_path`` (a local folder) with the chosen backend; raise ModelLoadError with a plain reason.

    ``tensor_parallel_size`` > 1 splits a model too big for one GPU (e.g. 70B) over that many GPUs: vLLM only."""
    chosen = pick_backend(backend, device)
    if tensor_parallel_size < 1:
        raise ModelLoadError(f"tensor_parallel_size must be at least 1, not {tensor_parallel_size}")
    if chosen == "vllm":
        from evaluator.engine.runners.vllm_backend import VllmRunner

        return VllmRunner(model_path, dtype=dtype, trust_remote_code=trust_remote_code,
                          tensor_parallel_size=tensor_parallel_size)
    if tensor_parallel_size > 1:
        raise ModelLoadError("tensor parallelism needs the vLLM backend (install vllm on a GPU worker)")
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    return TransformersRunner(
        model_path, dtype=dtype, device=device, trust_remote_code=trust_remote_code, token_budget=token_budget
    )
