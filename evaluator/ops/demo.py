"""The demo bootstrap: ``python cli.py eval bootstrap-demo`` (README's run command calls it before the worker).

Why: a fresh install should show a working leaderboard within minutes on a CPU, without the hub. So, while no run
has finished (and ``settings.demo_models`` is on), it imports and activates the bundled demo suite, builds three
tiny local models (two random seeds and an always-"A" model, tokenizers trained on the demo suite's own text) and
queues them as approved demo submissions; where the hub answers, it also queues ``settings.demo_hub_model``, a
real small model. Every step looks before it writes, so running it again creates nothing new.

Protocols: the worker runs submissions under the official ``generate`` protocol, where the random tiny models write
noise (their choice answers are mostly Unanswered: the taxonomy at work) and the always-"A" model writes "AAAA…",
read as A. So that the fast ``logprob`` view is not empty, the bootstrap also queues one ``logprob`` run of each
tiny model directly (no submission), and both protocols' leaderboards show the demo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import ModelCard
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from common.db import get_engine
from common.settings import Settings, get_settings
from evaluator.benchmark.suites.bundled import ensure_demo_suite
from evaluator.benchmark.suites.importer import load_items
from evaluator.tables import EvalRun, Suite
from evaluator.engine.tiny_models import build_tiny_model, folder_sha, model_info
from submissions.queue import set_state
from submissions.states import State
from submissions.tables import ModelEntry, Submission

HUB_PROBE_TIMEOUT_S = 3.0  # the run command waits on this when the hub is unreachable: keep it short


@dataclass(frozen=True)
class DemoModel:
    """One tiny demo model: its name under ``demo/`` and how it behaves."""

    name: str
    behaviour: Literal["random", "letter"]
    seed: int = 0
    letter: str = "A"


DEMO_MODELS = (
    DemoModel("tiny-random-1", "random", seed=1),
    DemoModel("tiny-random-2", "random", seed=2),
    DemoModel("tiny-always-a", "letter", letter="A"),
)


@dataclass
class DemoReport:
    """What the bootstrap did, for the command line."""

    skipped: str | None = None  # why nothing was done
    suite: str | None = None
    models_built: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    hub_model: str | None = None  # outcome of the hub model, in words

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"demo: {self.skipped}"]
        out = [f"demo suite: {self.suite}"]
        out.append(f"built: {', '.join(self.models_built)}" if self.models_built else "demo models: already built")
        out.append(f"queued: {', '.join(self.queued)}" if self.queued else "queued: nothing new")
        if self.hub_model:
            out.append(f"hub demo model: {self.hub_model}")
        return out


def has_finished_run(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(EvalRun.id).where(EvalRun.status == "finished").limit(1)).first() is not None


def suite_corpus(session: Session, suite: Suite) -> list[str]:
    """The suite's own text (passages, questions, options), so the tiny tokenizers split it into sensible pieces."""
    texts = []
    for _, item in load_items(session, suite.id):
        texts += [item.passage, item.question, *item.options.values()]
    return [t for t in texts if t]


def ensure_model_folder(root: Path, spec: DemoModel, corpus: list[str]) -> tuple[Path, bool]:
    """The model's folder, built unless it is already complete; returns (folder, built now)."""
    folder = root / spec.name
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder, False
    build_tiny_model(folder, spec.behaviour, letter=spec.letter, seed=spec.seed, corpus=corpus)
    return folder, True


def card_license(folder: Path) -> str | None:
    """The ``license`` of the folder's model card (README.md front matter)."""
    readme = folder / "README.md"
    if not readme.is_file():
        return None
    return ModelCard.load(readme).data.to_dict().get("license")


def _entry(session: Session, hub_id: str, commit_sha: str, precision: str, **fields: Any) -> ModelEntry:
    """The ModelEntry for (hub_id, commit_sha, precision), created when missing."""
    entry = session.exec(select(ModelEntry).where(ModelEntry.hub_id == hub_id, ModelEntry.commit_sha == commit_sha,
                                                  ModelEntry.precision == precision)).first()
    if entry is None:
        entry = ModelEntry(hub_id=hub_id, commit_sha=commit_sha, precision=precision, is_demo=True, **fields)
        session.add(entry)
        session.flush()
    return entry


def _queue(session: Session, entry: ModelEntry, reason: str) -> bool:
    """Submit ``entry`` and approve it as "system", unless it has a submission already; True when queued now."""
    if session.exec(select(Submission.id).where(Submission.model_id == entry.id)).first() is not None:
        return False
    submission = Submission(model_id=entry.id, contact=None)
    session.add(submission)
    session.flush()
    set_state(session, submission, State.APPROVED, actor_name="system", reason=reason)
    return True


def _queue_logprob(session: Session, entry: ModelEntry, suite: Suite) -> bool:
    """A pending ``logprob`` run of ``entry`` unless it has one already; True when queued now."""
    from evaluator.engine.units import create_run

    if session.exec(select(EvalRun.id).where(EvalRun.model_id == entry.id, EvalRun.protocol == "logprob")).first():
        return False
    create_run(session, entry, suite, protocol="logprob")
    return True


def queue_tiny_models(session: Session, suite: Suite, settings: Settings, report: DemoReport) -> None:
    root = Path(settings.model_cache_dir) / "demo"
    corpus = suite_corpus(session, suite)
    for spec in DEMO_MODELS:
        folder, built = ensure_model_folder(root, spec, corpus)
        if built:
            report.models_built.append(spec.name)
        facts = model_info(folder)
        entry = _entry(session, f"demo/{spec.name}", folder_sha(folder), "float32", revision="local",
                       model_type="base", use_chat_template=True, params=int(facts["params"]),
                       license=card_license(folder), local_path=str(folder.resolve()),
                       card_data={"license": card_license(folder), "tags": ["medbench-demo"]})
        if _queue(session, entry, "demo model"):
            report.queued.append(entry.hub_id)
        if _queue_logprob(session, entry, suite):
            report.queued.append(f"{entry.hub_id} (logprob)")


def queue_hub_model(session: Session, settings: Settings, report: DemoReport) -> None:
    """Queue ``settings.demo_hub_model`` when the hub answers quickly and the model passes the intake checks."""
    hub_id = settings.demo_hub_model.strip()
    if not hub_id:
        return
    from submissions.checks import check_validity
    from huggingface_hub.errors import HfHubHTTPError

    from submissions.hub import fetch_model_info, hub_problem

    try:
        fetch_model_info(hub_id, "main", timeout=HUB_PROBE_TIMEOUT_S)
    except Exception as exc:  # unreachable, unknown, gated: the tiny models are the whole demo then
        status = exc.response.status_code if isinstance(exc, HfHubHTTPError) and exc.response is not None else None
        reason = f"the model hub answered HTTP {status}" if status else hub_problem(exc, HUB_PROBE_TIMEOUT_S)
        report.hub_model = f"{hub_id} skipped ({reason})"
        return
    check = check_validity(hub_id, "main")
    if not check.ok or not check.commit_sha:
        report.hub_model = f"{hub_id} skipped ({check.message})"
        return
    entry = _entry(session, hub_id, check.commit_sha, "bfloat16", revision="main", model_type="chat",
                   use_chat_template=check.has_chat_template, params=check.params, license=check.license,
                   card_data=check.card_data)
    queued = _queue(session, entry, "demo model from the hub")
    report.hub_model = f"{hub_id}@{check.commit_sha[:12]} " + ("queued" if queued else "already queued")
    if queued:
        report.queued.append(hub_id)


def bootstrap_demo(engine: Engine | None = None, settings: Settings | None = None) -> DemoReport:
    """Set up the demo leaderboard when there is nothing to show yet (see the module docstring)."""
    settings = settings or get_settings()
    engine = engine or get_engine()
    if not settings.demo_models:
        return DemoReport(skipped="demo models are off (MEDBENCH_DEMO_MODELS=false)")
    if has_finished_run(engine):
        return DemoReport(skipped="the leaderboard already has finished runs; nothing to do")
    report = DemoReport()
    with Session(engine, expire_on_commit=False) as session:
        suite = ensure_demo_suite(session)
        session.commit()
        report.suite = f"{suite.name} ({suite.version[:12]}, {suite.item_count} items{', active' if suite.active else ''})"
        queue_tiny_models(session, suite, settings, report)
        queue_hub_model(session, settings, report)
        session.commit()
    return report
