"""What a run's answers cost to generate: tokens per answer (mean, 95th percentile), reasoning tokens, and the
device- and CPU-seconds the run held its model (``EvalRun.environment["compute"]``, kept by
``evaluator.engine.execution.ComputeClock``).

Why on the site: under the ``generate`` protocol a reasoning model may write thousands of tokens per question;
two models with equal scores can differ a hundredfold in what an answer costs. Stored in the overall
``DimensionScore.extras["cost"]`` by ``score_run`` (re-scoring recomputes it from the stored rows).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def generation_cost(generations: Iterable[dict[str, Any] | None], environment: dict[str, Any] | None
                    ) -> dict[str, Any]:
    """The cost figures of one run from its rows' ``ItemResult.generation`` facts and its environment."""
    facts = [g for g in generations if g and "tokens" in g]
    tokens = np.array([g["tokens"] for g in facts], dtype=float)
    reasoning = np.array([g.get("reasoning_tokens", 0) for g in facts], dtype=float)
    compute = (environment or {}).get("compute") or {}
    return {
        "answers": len(facts),
        "tokens_mean": float(tokens.mean()) if len(facts) else None,
        "tokens_p95": float(np.percentile(tokens, 95)) if len(facts) else None,
        "reasoning_tokens_mean": float(reasoning.mean()) if len(facts) else None,
        "reasoning_tokens_total": int(reasoning.sum()),
        "device": compute.get("device"),
        "device_seconds": compute.get("seconds"),
        "cpu_seconds": compute.get("cpu_seconds"),
    }
