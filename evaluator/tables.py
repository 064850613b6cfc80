"""Tables owned by the evaluator: suites, their tasks and items, runs, and every score down to the item."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.columns import created_at_field, json_field, text_field, ts_field


class Suite(SQLModel, table=True):
    """An imported benchmark suite. ``version`` is a content hash over its items and is stored with every run."""

    __tablename__ = "suites"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=100)
    version: str = Field(unique=True, max_length=64)
    description: Optional[str] = text_field(default=None)
    source: Optional[str] = Field(default=None, max_length=500)  # folder or file it was imported from
    item_count: int = Field(default=0)
    active: bool = Field(default=False)  # the suite new runs use and the leaderboard ranks on
    # "public": its questions, prompts and outputs may be shown and exported; "private": aggregate scores only
    # (spec section 8; evaluator.item_access is the gate). Private unless an organizer chooses public.
    visibility: str = Field(default="private", max_length=16)
    created_at: datetime = created_at_field()


class SuiteTask(SQLModel, table=True):
    """A task present in a suite, with the registry facts at import time (dimension, kind, metric)."""

    __tablename__ = "suite_tasks"
    __table_args__ = (UniqueConstraint("suite_id", "name", name="uq_suite_task"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    suite_id: int = Field(foreign_key="suites.id", index=True)
    name: str = Field(max_length=64)
    dimension: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    metric: str = Field(max_length=32)
    item_count: int = Field(default=0)
    scored_count: int = Field(default=0)  # items with a reference answer


class SuiteItem(SQLModel, table=True):
    """One benchmark item. ``data`` holds the project item format (see evaluator.benchmark.items)."""

    __tablename__ = "suite_items"
    __table_args__ = (
        UniqueConstraint("suite_id", "item_key", name="uq_suite_item"),
        Index("ix_suite_items_suite_task", "suite_id", "task"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    suite_id: int = Field(foreign_key="suites.id")
    task: str = Field(max_length=64)
    item_key: str = Field(max_length=128)
    data: dict[str, Any] = json_field()


# Keys of the execution part that a run spec held before it had its own column (``EvalRun.execution_spec``).
EXECUTION_KEYS = ("backend", "device", "tensor_parallel", "batch_policy")


class EvalRun(SQLModel, table=True):
    """One evaluation of one model on one suite: its numbers are fully determined by ``run_spec``; how it executed
    (backend, device, tensor parallelism, batch policy, where a worker placed it) is ``execution_spec``."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_status_priority", "status", "priority"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: Optional[int] = Field(default=None, foreign_key="submissions.id", index=True)
    model_id: Optional[int] = Field(default=None, foreign_key="models.id", index=True)
    suite_id: int = Field(foreign_key="suites.id", index=True)
    suite_version: str = Field(max_length=64)
    run_spec: dict[str, Any] = json_field()  # model, revision, dtype, K, seed, prompt version, generation, protocol
    execution_spec: dict[str, Any] = json_field()  # backend, device, tensor parallelism, batch policy, placement
    # the answer protocol of run_spec ("generate" | "logprob"), as a column: the leaderboard ranks one at a time
    protocol: str = Field(default="generate", max_length=16, index=True)
    environment: dict[str, Any] = json_field()  # library versions, device, evaluator version at run time
    evaluator_version: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16)  # pending | running | finished | failed | cancelled
    priority: int = Field(default=0)
    progress_done: int = Field(default=0)
    progress_total: int = Field(default=0)
    progress_detail: dict[str, Any] = json_field()  # {task: [done, total]}
    eta_seconds: Optional[float] = Field(default=None)
    lease_owner: Optional[str] = Field(default=None, max_length=128)
    heartbeat_at: Optional[datetime] = ts_field()
    lease_expires_at: Optional[datetime] = ts_field(index=True)
    cancel_requested: bool = Field(default=False)
    attempts: int = Field(default=0)
    error_public: Optional[str] = text_field(default=None)  # plain reason shown on the Queue page
    error_detail: Optional[str] = text_field(default=None)  # traceback, organizers only
    log: Optional[str] = text_field(default="")
    created_at: datetime = created_at_field()
    started_at: Optional[datetime] = ts_field()
    finished_at: Optional[datetime] = ts_field(index=True)

    def specs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(run spec, execution spec) as plain dicts. A row stored before the split, whose ``run_spec`` still holds
        the execution keys, is split here (its ``execution_spec`` wins where both say), so old rows load alike
        for the engine and for the leaderboard's reproducibility card."""
        run_part, execution = dict(self.run_spec or {}), dict(self.execution_spec or {})
        for key in EXECUTION_KEYS:
            if key in run_part:
                execution.setdefault(key, run_part.pop(key))
        return run_part, execution


class TaskScore(SQLModel, table=True):
    """A task's primary score with its 95% bootstrap interval, and its secondary figures in ``extras``."""

    __tablename__ = "task_scores"
    __table_args__ = (UniqueConstraint("run_id", "task", name="uq_task_score"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id", index=True)
    task: str = Field(max_length=64)
    dimension: str = Field(max_length=32)
    metric: str = Field(max_length=32)
    score: Optional[float] = Field(default=None)  # None: no scored items (e.g. answer: null)
    ci_low: Optional[float] = Field(default=None)
    ci_high: Optional[float] = Field(default=None)
    n_items: int = Field(default=0)
    n_scored: int = Field(default=0)
    extras: dict[str, Any] = json_field()  # accuracy, strict_accuracy, robustness, position_bias, jaccard, rouge_l...


class DimensionScore(SQLModel, table=True):
    """Dimension scores (mean of task scores) and the overall score (dimension == "overall")."""

    __tablename__ = "dimension_scores"
    __table_args__ = (UniqueConstraint("run_id", "dimension", name="uq_dimension_score"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id", index=True)
    dimension: str = Field(max_length=32)
    score: Optional[float] = Field(default=None)
    ci_low: Optional[float] = Field(default=None)
    ci_high: Optional[float] = Field(default=None)
    accuracy: Optional[float] = Field(default=None)  # choice items: mean over (item, order)
    strict_accuracy: Optional[float] = Field(default=None)
    robustness: Optional[float] = Field(default=None)
    extras: dict[str, Any] = json_field()  # position bias, error-tag counts, ...


class ItemResult(SQLModel, table=True):
    """One (item, option order) of one run: the exact prompt, the raw output, the parsed answer and its tags."""

    __tablename__ = "item_results"
    __table_args__ = (
        UniqueConstraint("run_id", "item_id", "order_index", name="uq_item_result"),
        Index("ix_item_results_run_task", "run_id", "task"),
        Index("ix_item_results_run_dimension", "run_id", "dimension"),
        Index("ix_item_results_run_error", "run_id", "error_primary"),
        Index("ix_item_results_item", "item_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id")
    item_id: int = Field(foreign_key="suite_items.id")
    task: str = Field(max_length=64)
    dimension: str = Field(max_length=32)
    order_index: int = Field(default=0)  # 0 = original order
    permutation: list[str] = json_field(default_factory=list)  # shown letter i -> original option key
    prompt: str = text_field(default="", nullable=False)
    raw_output: Optional[str] = text_field(default=None)  # generated answer; a reasoning model's text after it
    reasoning: Optional[str] = text_field(default=None)  # a reasoning model's reasoning (inside <think>…</think>)
    # how generation ended: finish_reason ("stop" | "length"), tokens, reasoning_tokens, reasoning_closed
    generation: Optional[dict[str, Any]] = json_field(nullable=True)  # None: letter-scored or stored before
    parsed_answer: Any = json_field(default_factory=lambda: None, nullable=True)  # in original option keys
    correct: Optional[bool] = Field(default=None)  # None: unscored (no reference answer) or failed item
    score: Optional[float] = Field(default=None)  # item-level metric value (1/0 for choice, recall for open)
    letter_scores: dict[str, Any] = json_field()  # shown letter -> log-prob
    details: dict[str, Any] = json_field()  # metric details (covered points, tp/fp/fn, jaccard, rouge_l ...)
    error_primary: Optional[str] = Field(default=None, max_length=64)
    error_tags: dict[str, Any] = json_field()  # {"primary":..., "secondary":[...], "method": "rule"|"judge:<model>", "human": ...}
    status: str = Field(default="ok", max_length=16)  # ok | error
    error_message: Optional[str] = text_field(default=None)
    created_at: datetime = created_at_field()


class TagReview(SQLModel, table=True):
    """An organizer's review of one automatic error tag: accepted, or changed to another category."""

    __tablename__ = "tag_reviews"
    __table_args__ = (UniqueConstraint("item_result_id", name="uq_tag_review"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    item_result_id: int = Field(foreign_key="item_results.id")
    run_id: int = Field(foreign_key="eval_runs.id", index=True)
    reviewer_id: Optional[int] = Field(default=None, foreign_key="users.id")
    auto_primary: Optional[str] = Field(default=None, max_length=64)
    human_primary: Optional[str] = Field(default=None, max_length=64)
    accepted: bool = Field(default=True)
    note: Optional[str] = text_field(default=None)
    at: datetime = created_at_field()
    auto_method: Optional[str] = Field(default=None, max_length=64)  # how the reviewed tag was made: rule:<name> | judge:<model>


class ScoreSnapshot(SQLModel, table=True):
    """A run's overall and dimension scores as one evaluator version made them, kept when the run is re-scored
    (``score_run`` replaces TaskScore/DimensionScore in place), so a model's history shows how re-scoring moved
    it. One row per (run, evaluator version): the scores that version gave first."""

    __tablename__ = "score_snapshots"
    __table_args__ = (UniqueConstraint("run_id", "evaluator_version", name="uq_score_snapshot"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id", index=True)
    evaluator_version: str = Field(max_length=32)
    scores: dict[str, Any] = json_field()  # {dimension or "overall": {"score", "ci_low", "ci_high"}}
    taken_at: datetime = created_at_field()
