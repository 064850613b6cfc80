"""Metrics behind a small registry: each turns one model output into an item outcome and item outcomes into a
task score. ``get_metric(TaskSpec.metric)`` is the only lookup the evaluator needs."""
from evaluator.benchmark.scoring.base import ItemOutcome, Metric, all_metrics, get_metric, register_metric

__all__ = ["ItemOutcome", "Metric", "all_metrics", "get_metric", "register_metric"]
