"""One model's public report: who it is, the run that stands for it, its task and dimension scores, and the
facts needed to reproduce that run. Opened by ``ModelEntry.id`` or by hub id (``/model?model=org/name``)."""
from __future__ import annotations

import math
import shlex
from urllib.parse import quote
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from common.i18n import t
from evaluator.benchmark.protocols import DEFAULT_REASONING_BUDGET, OFFICIAL_PROTOCOL, PROTOCOLS
from evaluator.tables import DimensionScore, EvalRun, Suite, TaskScore
from evaluator.benchmark.tasks import TASKS, Kind
from leaderboard.labels import is_missing
from leaderboard.model_facts import facts_of
from leaderboard.ranking import SCORE_KEYS, size_bucket
from leaderboard.runs import active_suite, check_protocol, latest_runs
from submissions.tables import ModelEntry


class ModelNotFound(LookupError):
    """No public model matches the reference; the message is meant for the visitor."""


@dataclass
class ModelReport:
    """Everything the model page shows except item rows (those are paged by leaderboard.item_browser)."""

    model: dict[str, Any]
    run: dict[str, Any] | None  # None: not (yet) evaluated on the active suite
    suite: dict[str, Any] | None
    tasks: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per task
    dimensions: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per dimension + "overall"
    protocol: str = OFFICIAL_PROTOCOL  # the answer protocol of ``run``
    protocols: list[str] = field(default_factory=list)  # protocols this model has a finished run under

    @property
    def unscored_items(self) -> int:
        """Items run without a reference answer: they are shown but count in no score."""
        if self.tasks.empty:
            return 0
        return int((self.tasks["n_items"] - self.tasks["n_scored"]).sum())

    @property
    def missing_dimensions(self) -> list[str]:
        """Dimensions with no score in this run (the overall score then averages the others)."""
        if self.dimensions.empty:
            return []
        rows = self.dimensions[self.dimensions["dimension"] != "overall"]
        return [d for d, s in zip(rows["dimension"], rows["score"]) if s is None or s != s]

    @property
    def position_only_tasks(self) -> list[str]:
        """Yes/no tasks scored exactly 0.500 [0.500, 0.500]: the mark of a model that always picks one position
        (asked under both orders, it is right once per question), which visitors otherwise read as a bug."""
        if self.tasks.empty:
            return []
        yes_no = [TASKS[t].kind == Kind.YES_NO if t in TASKS else False for t in self.tasks["task"]]
        return [row.task for row in self.tasks[yes_no].itertuples()
                if all(not is_missing(v) and math.isclose(v, 0.5) for v in (row.score, row.ci_low, row.ci_high))]

    @property
    def scored_items(self) -> int:
        return 0 if self.tasks.empty else int(self.tasks["n_scored"].sum())


def resolve_model(session: Session, ref: str | int | None) -> ModelEntry:
    """The visible model that ``ref`` names: a ``ModelEntry.id`` or a hub id. A hub id with several entries
    (precisions, revisions) resolves to the one whose run on the active suite finished last."""
    text = str(ref or "").strip()
    if not text:
        raise ModelNotFound("No model chosen: open a model from the leaderboard or add ?model=<id or hub id>.")
    if text.isdigit():
        model = session.get(ModelEntry, int(text))
        if model is not None and not model.hidden:
            return model
        raise ModelNotFound(f"There is no public model with id {text}.")
    candidates = session.scalars(
        select(ModelEntry).where(ModelEntry.hub_id == text, ModelEntry.hidden == False)  # noqa: E712
        .order_by(ModelEntry.id.desc())
    ).all()
    if not candidates:
        raise ModelNotFound(f"There is no public model named {text!r}. Check the spelling (org/name) or search the "
                            "leaderboard.")
    suite = active_suite(session)
    if suite is not None and len(candidates) > 1:
        latest = latest_runs(suite.id)
        newest = session.execute(
            select(latest.c.model_id).join(EvalRun, EvalRun.id == latest.c.run_id)
            .where(latest.c.model_id.in_([m.id for m in candidates]))
            .order_by(EvalRun.finished_at.desc())
        ).scalars().first()
        if newest is not None:
            return next(m for m in candidates if m.id == newest)
    return candidates[0]


def model_facts(model: ModelEntry) -> dict[str, Any]:
    """The listing facts of a model as plain values (cacheable, shown in the page header)."""
    return {
        "id": model.id, "hub_id": model.hub_id, "revision": model.revision, "commit_sha": model.commit_sha,
        "precision": model.precision, "type": model.model_type, "params": model.params,
        "size": size_bucket(model.params), "license": model.license or "unknown", "demo": model.is_demo,
        "flag": model.flag_reason, "use_chat_template": model.use_chat_template, "source": model.source,
        "served_model": (model.served or {}).get("model_name"), "served_added": (model.served or {}).get("added"),
        "url": model_url(model),
        "facts": facts_of(model.card_data),  # organisation, base model, ... (leaderboard.model_facts)
    }


def model_url(model: ModelEntry) -> str | None:
    """The model's page on its hub (the id percent-encoded); None for demo, local and served models."""
    if model.is_demo or model.local_path or model.source == "api":
        return None
    if model.source == "modelscope":
        return f"https://modelscope.cn/models/{quote(model.hub_id)}"
    return f"https://huggingface.co/{quote(model.hub_id)}"


def reproducibility_note(source: str | None, lang: str | None = None) -> str:
    """What can and cannot be reproduced of a run of a model from ``source``, in the page's language."""
    return t("repro.not_pinned" if source == "api" else "repro.pinned", lang)


def model_report(session: Session, ref: str | int | None, protocol: str | None = None) -> ModelReport:
    """The report of the model ``ref`` names, from its latest finished run on the active suite under ``protocol``
    (None: the official protocol where the model has such a run, else its other one). Raises ValueError for an
    unknown protocol."""
    if protocol is not None:
        check_protocol(protocol)
    model = resolve_model(session, ref)
    suite = active_suite(session)
    facts = model_facts(model)
    if suite is None:
        return ModelReport(facts, None, None, protocol=protocol or OFFICIAL_PROTOCOL)
    runs = {}
    for candidate in PROTOCOLS:
        latest = latest_runs(suite.id, candidate)
        found = session.execute(
            select(EvalRun).join(latest, latest.c.run_id == EvalRun.id).where(latest.c.model_id == model.id)
        ).scalars().first()
        if found is not None:
            runs[candidate] = found
    chosen = protocol or (OFFICIAL_PROTOCOL if OFFICIAL_PROTOCOL in runs or not runs else next(iter(runs)))
    run = runs.get(chosen)
    suite_facts = {"id": suite.id, "name": suite.name, "version": suite.version, "item_count": suite.item_count,
                   "visibility": suite.visibility}
    if run is None:
        return ModelReport(facts, None, suite_facts, protocol=chosen, protocols=list(runs))
    return ModelReport(facts, run_facts(run, suite), suite_facts, task_scores(session, run.id),
                       dimension_scores(session, run.id), protocol=chosen, protocols=list(runs))


def run_facts(run: EvalRun, suite: Suite) -> dict[str, Any]:
    """The reproducibility card of a run: exactly what determined its numbers (``run_spec``) and how it ran
    (``execution_spec``: backend, device, tensor parallelism, batch policy, placement; rows stored before the two
    were apart are split by ``EvalRun.specs``)."""
    spec, execution = run.specs()
    return {
        "id": run.id, "protocol": run.protocol, "reasoning": spec.get("reasoning") or {}, "suite_name": suite.name, "suite_version": run.suite_version,
        "evaluator_version": run.evaluator_version, "finished_at": run.finished_at, "started_at": run.started_at,
        "run_spec": spec, "execution_spec": execution, "environment": dict(run.environment or {}),
        "command": reproduce_command(spec, execution, suite.name, run.suite_version, dict(run.environment or {})),
    }


# a folder on this server; the option-order seed of a private suite's run (derived from the server's secret:
# published, it would let a submitter precompute the orders, evaluator.engine.order_secret)
PRIVATE_SPEC_KEYS = frozenset({"local_path", "permutation_seed"})
PRIVATE_SERVED_KEYS = frozenset({"endpoint", "key_name"})  # the organizers' endpoint and the name of its secret
PRIVATE_ENVIRONMENT_KEYS = frozenset({"platform", "pid", "node", "host", "lease_owner"})  # this server's host
PRIVATE_PLACEMENT_KEYS = frozenset({"worker"})  # the worker's host:pid


def public_run_facts(run: dict[str, Any]) -> dict[str, Any]:
    """The reproducibility card as visitors see it: without paths on this server or details of its hosts
    (kernel, host names, process ids), which reproduce nothing and help an attacker; organizers see it all."""
    environment = {k: v for k, v in run["environment"].items() if k not in PRIVATE_ENVIRONMENT_KEYS}
    if isinstance(environment.get("distributed"), dict):
        environment["distributed"] = {k: v for k, v in environment["distributed"].items() if k != "nodes"}
    if isinstance(environment.get("runner_settings"), dict):
        environment["runner_settings"] = {k: v for k, v in environment["runner_settings"].items()
                                          if k not in PRIVATE_SERVED_KEYS}
    spec = {k: v for k, v in run["run_spec"].items() if k not in PRIVATE_SPEC_KEYS}
    if isinstance(spec.get("served"), dict):
        spec["served"] = {k: v for k, v in spec["served"].items() if k not in PRIVATE_SERVED_KEYS}
    execution = dict(run["execution_spec"])
    if isinstance(execution.get("placement"), dict):
        execution["placement"] = {k: v for k, v in execution["placement"].items() if k not in PRIVATE_PLACEMENT_KEYS}
    return {**run, "run_spec": spec, "execution_spec": execution, "environment": environment}


def reproduce_command(spec: dict[str, Any], execution: dict[str, Any], suite_name: str, suite_version: str,
                      environment: dict[str, Any] | None = None) -> str:
    """The operator command (``cli.py eval run``) that re-runs this evaluation: same model (its hub id, never a
    path on this server) and revision, dtype, seed, option orders, chat-template choice, tasks and suite (the run
    spec), and the backend and device of its execution spec, or those the run actually used (``environment``)
    where that said "auto". The suite version it expects is stated alongside."""
    if spec.get("source") == "api":  # a served model is re-asked, not re-loaded: add it again, the worker runs it
        served = spec.get("served") or {}
        parts = ["python", "cli.py", "users", "add-served-model", "--endpoint", "ENDPOINT", "--model-name",
                 str(served.get("model_name", "?")), "--label", str(spec.get("model", "?"))]
        return (f"{shlex.join(parts)}  # then the worker runs it on suite {suite_name!r} at version {suite_version}; "
                "not pinned: the answers may differ")
    env = environment or {}
    backend = execution.get("backend", "auto")
    backend = env.get("backend", backend) if backend == "auto" else backend
    device = execution.get("device", "auto")
    device = str(env.get("device", device)).split(":")[0] if device == "auto" else device
    parts = ["python", "cli.py", "eval", "run", "--model", str(spec.get("model", "?")),
             "--revision", str(spec.get("revision", "main")), "--suite", str(spec.get("suite_name", suite_name)),
             "--dtype", str(spec.get("dtype", "auto")), "--seed", str(spec.get("seed", 0)),
             "--k", str(spec.get("k", 5)), "--backend", str(backend), "--device", str(device),
             "--protocol", str(spec.get("protocol", OFFICIAL_PROTOCOL))]
    reasoning = spec.get("reasoning") or {}
    if reasoning.get("source") in ("organizer", "run"):  # decided by people, not by the model's template
        parts.append("--thinks" if reasoning.get("thinks") else "--no-thinks")
    if reasoning.get("budget", DEFAULT_REASONING_BUDGET) != DEFAULT_REASONING_BUDGET:
        parts += ["--reasoning-budget", str(reasoning["budget"])]
    if spec.get("use_chat_template") is False:
        parts.append("--no-chat-template")
    if spec.get("tasks"):
        parts += ["--tasks", ",".join(spec["tasks"])]
    if spec.get("limit_per_task"):
        parts += ["--limit", str(spec["limit_per_task"])]
    return f"{shlex.join(parts)}  # expects suite {suite_name!r} at version {suite_version}"


def task_scores(session: Session, run_id: int) -> pd.DataFrame:
    """Per-task scores of a run in registry order: score with CI, n, metric and the secondary figures."""
    rows = session.scalars(select(TaskScore).where(TaskScore.run_id == run_id)).all()
    order = {name: i for i, name in enumerate(TASKS)}
    records = [{
        "task": r.task, "dimension": r.dimension, "metric": r.metric, "score": r.score, "ci_low": r.ci_low,
        "ci_high": r.ci_high, "n_items": r.n_items, "n_scored": r.n_scored,
        "accuracy": (r.extras or {}).get("accuracy"), "strict_accuracy": (r.extras or {}).get("strict_accuracy"),
        "robustness": (r.extras or {}).get("robustness"), "jaccard": (r.extras or {}).get("jaccard"),
        "rouge_l": (r.extras or {}).get("rouge_l"), "judge_recall": (r.extras or {}).get("judge_recall"),
    } for r in sorted(rows, key=lambda r: order.get(r.task, len(order)))]
    return pd.DataFrame(records, columns=["task", "dimension", "metric", "score", "ci_low", "ci_high", "n_items",
                                          "n_scored", "accuracy", "strict_accuracy", "robustness", "jaccard",
                                          "rouge_l", "judge_recall"])


def dimension_scores(session: Session, run_id: int) -> pd.DataFrame:
    """The five dimension rows and the overall row: score with CI, robustness figures, position bias, errors."""
    rows = {r.dimension: r for r in session.scalars(select(DimensionScore).where(DimensionScore.run_id == run_id))}
    records = []
    for key in SCORE_KEYS:
        r = rows.get(key)
        extras = (r.extras if r else None) or {}
        records.append({
            "dimension": key, "score": r.score if r else None, "ci_low": r.ci_low if r else None,
            "ci_high": r.ci_high if r else None, "accuracy": r.accuracy if r else None,
            "strict_accuracy": r.strict_accuracy if r else None, "robustness": r.robustness if r else None,
            "position_bias": extras.get("position_bias") or {}, "error_counts": extras.get("error_counts") or {},
            "n_wrong": extras.get("n_wrong", sum((extras.get("error_counts") or {}).values())),
            "cost": extras.get("cost") or {},
        })
    return pd.DataFrame(records)


def format_when(value: datetime | None) -> str:
    """A run or submission time as shown on the site (UTC, minutes)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"
