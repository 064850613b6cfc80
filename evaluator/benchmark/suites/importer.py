"""Suites in the database: atomic, versioned import; loading items for a run; export; activation; listing.

Import is all-or-nothing: every file is read and every item checked before anything is written, and a single
problem refuses the whole suite (:class:`SuiteError` lists them all as ``file:line: reason``). Re-importing
the same content returns the suite already stored under that version instead of a duplicate.
Functions take the caller's session and only flush; the caller commits (``common.db.session_scope`` does), so
an import and the organizer's audit row land in one transaction.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.reader import read_suite
from evaluator.benchmark.suites.version import suite_version
from evaluator.benchmark.suites.visibility import PRIVATE, check_visibility
from evaluator.tables import Suite, SuiteItem, SuiteTask
from evaluator.benchmark.tasks import TASKS
from submissions.audit import record_action
from submissions.tables import User

MAX_NAME_LENGTH = 100
_INSERT_CHUNK = 1000

__all__ = [
    "ActivationRefused", "SuiteError", "activate_suite", "activation_changes", "export_suite", "get_active_suite",
    "get_suite",
    "import_suite", "list_suites", "load_items", "missing_ranked_tasks", "suite_tasks",
]


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise SuiteError([f"suite name must be 1 to {MAX_NAME_LENGTH} characters, got {name!r}"], "bad suite name")
    return name


def import_suite(
    session: Session,
    path: str | Path,
    name: str,
    *,
    fmt: str = "auto",
    task: str | None = None,
    description: str | None = None,
    activate: bool = False,
    expected_version: str | None = None,
    actor: User | None = None,
    force: bool = False,
    visibility: str = PRIVATE,
) -> Suite:
    """Import the suite at ``path`` (file, folder or .zip) as ``name``; raise SuiteError and write nothing on any
    problem. ``expected_version`` (the hash shown in a preview) refuses content that changed since the preview.
    ``actor`` is the organizer recorded in the audit log (None: the system, e.g. the CLI or the demo bootstrap).
    ``force`` confirms an activation that drops ranked tasks (see :func:`activate_suite`).
    ``visibility`` (spec section 8): a new suite is private unless the organizer chooses public; content already
    stored keeps its visibility (changing it is :func:`evaluator.benchmark.suites.visibility.set_visibility`'s, audited).
    """
    name = _check_name(name)
    check_visibility(visibility)
    loaded = read_suite(path, fmt=fmt, task=task)
    if loaded.problems:
        raise SuiteError(loaded.problems)
    items = loaded.plain_items
    version = suite_version(items)
    if expected_version is not None and expected_version != version:
        raise SuiteError([f"{path}:0: content changed since the preview (version {version[:12]}, "
                          f"previewed {expected_version[:12]}); preview again"], "suite changed since preview")
    suite = session.exec(select(Suite).where(Suite.version == version)).first()
    if suite is None:
        suite = _write_suite(session, name, version, str(path), description, items, visibility)
        record_action(session, actor=actor, action="suite.import", target_type="suite", target_id=suite.id,
                      before={}, after={"name": name, "version": version, "items": len(items),
                                        "visibility": visibility})
    if activate:
        activate_suite(session, suite.id, actor=actor, force=force)
    return suite


def _write_suite(session: Session, name: str, version: str, source: str, description: str | None,
                 items: list[Item], visibility: str) -> Suite:
    suite = Suite(name=name, version=version, source=source[:500], description=description, item_count=len(items),
                  visibility=visibility)
    session.add(suite)
    session.flush()
    totals, scored = Counter(i.task for i in items), Counter(i.task for i in items if i.scored)
    for task_name in sorted(totals):
        spec = TASKS[task_name]
        session.add(SuiteTask(suite_id=suite.id, name=task_name, dimension=spec.dimension.value, kind=spec.kind.value,
                              metric=spec.metric, item_count=totals[task_name], scored_count=scored[task_name]))
    rows = [{"suite_id": suite.id, "task": i.task, "item_key": i.id, "data": i.model_dump()} for i in items]
    for start in range(0, len(rows), _INSERT_CHUNK):
        session.execute(insert(SuiteItem), rows[start: start + _INSERT_CHUNK])
    session.flush()
    return suite


def get_suite(session: Session, suite_id: int) -> Suite:
    """The suite with ``suite_id``; SuiteError when there is none."""
    suite = session.get(Suite, suite_id)
    if suite is None:
        raise SuiteError([f"no suite with id {suite_id}"], "unknown suite")
    return suite


def list_suites(session: Session) -> list[Suite]:
    """Every suite, newest first."""
    return list(session.exec(select(Suite).order_by(Suite.created_at.desc(), Suite.id.desc())))


def suite_tasks(session: Session, suite_id: int) -> list[SuiteTask]:
    """The tasks of a suite with their item counts, in registry order."""
    order = {name: index for index, name in enumerate(TASKS)}
    rows = session.exec(select(SuiteTask).where(SuiteTask.suite_id == suite_id)).all()
    return sorted(rows, key=lambda row: order.get(row.name, len(order)))


def get_active_suite(session: Session) -> Suite | None:
    """The suite new runs use and the leaderboard ranks on (None before any is activated)."""
    return session.exec(select(Suite).where(Suite.active == True)).first()  # noqa: E712


class ActivationRefused(SuiteError):
    """Activating the suite would drop tasks the leaderboard ranks on; ``missing`` names them (registry order)."""

    def __init__(self, suite: Suite, active: Suite, missing: list[str]) -> None:
        self.missing = missing
        super().__init__([f"{task}: ranked on the active suite {active.name!r}, absent from {suite.name!r}"
                          for task in missing],
                         f"activation refused: suite {suite.id} {suite.name!r} lacks {len(missing)} task(s) the "
                         "leaderboard ranks on; confirm to activate anyway")


def missing_ranked_tasks(session: Session, task_names: Iterable[str]) -> list[str]:
    """Tasks the leaderboard ranks on now (the active suite's tasks that are in the task registry) absent from
    ``task_names``, in registry order. Empty when no suite is active: a first suite drops nothing."""
    active = get_active_suite(session)
    if active is None:
        return []
    have = set(task_names)
    return [task.name for task in suite_tasks(session, active.id) if task.name in TASKS and task.name not in have]


def activation_changes(session: Session, suite_id: int) -> dict[str, Any]:
    """What activating ``suite_id`` changes against the active suite, for the confirmation an organizer reads:
    ``active`` (its name@version, or None), ``lacks_tasks`` (ranked now, absent: dropped from the leaderboard),
    ``lacks_dimensions`` (dimensions with no task left), ``adds_tasks``, ``items`` (active count, new count)."""
    suite = get_suite(session, suite_id)
    active = get_active_suite(session)
    new_tasks = [t.name for t in suite_tasks(session, suite_id) if t.name in TASKS]
    old_tasks = [t.name for t in suite_tasks(session, active.id) if t.name in TASKS] if active else []
    new_dims = {str(TASKS[t].dimension) for t in new_tasks}
    return {
        "active": f"{active.name}@{active.version[:12]}" if active else None,
        "lacks_tasks": [t for t in old_tasks if t not in new_tasks],
        "lacks_dimensions": list(dict.fromkeys(str(TASKS[t].dimension) for t in old_tasks
                                               if str(TASKS[t].dimension) not in new_dims)),
        "adds_tasks": [t for t in new_tasks if t not in old_tasks],
        "items": (active.item_count if active else 0, suite.item_count),
    }


def activate_suite(session: Session, suite_id: int, *, actor: User | None = None, force: bool = False) -> Suite:
    """Make ``suite_id`` the one active suite (every other suite becomes inactive).

    Raises ActivationRefused, changing nothing, when the suite lacks tasks the leaderboard ranks on, unless the
    organizer confirmed (``force``): an accidental partial suite would empty those columns of the leaderboard."""
    suite = get_suite(session, suite_id)
    previous = get_active_suite(session)
    if previous is not None and previous.id == suite.id:
        return suite
    missing = missing_ranked_tasks(session, (task.name for task in suite_tasks(session, suite_id)))
    if missing and not force:
        raise ActivationRefused(suite, previous, missing)
    for other in session.exec(select(Suite).where(Suite.active == True)):  # noqa: E712
        other.active = False
        session.add(other)
    session.flush()
    suite.active = True
    session.add(suite)
    record_action(session, actor=actor, action="suite.activate", target_type="suite", target_id=suite.id,
                  before={"active_suite_id": previous.id if previous else None},
                  after={"active_suite_id": suite.id, "version": suite.version,
                         **({"tasks_dropped": missing} if missing else {})})
    session.flush()
    return suite


def load_items(session: Session, suite_id: int) -> list[tuple[SuiteItem, Item]]:
    """Every item of a suite in import order, as stored rows with their parsed :class:`Item`."""
    get_suite(session, suite_id)
    rows = session.exec(select(SuiteItem).where(SuiteItem.suite_id == suite_id).order_by(SuiteItem.id)).all()
    return [(row, Item.model_validate(row.data)) for row in rows]


def export_suite(session: Session, suite_id: int, out_dir: str | Path) -> list[Path]:
    """Write the suite as project JSONL, one ``<Task>.jsonl`` per task, into an empty or new ``out_dir``.

    Re-importing the folder gives the same version hash. A non-empty folder is refused, so an export never
    mixes with older files that a later import would pick up.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SuiteError([f"{out}: export folder must be new or empty"], "export refused")
    by_task: dict[str, list[Item]] = {}
    for _, item in load_items(session, suite_id):
        by_task.setdefault(item.task, []).append(item)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task_name, items in by_task.items():
        target = out / f"{task_name}.jsonl"
        target.write_text("".join(json.dumps(i.model_dump(), ensure_ascii=False) + "\n" for i in items),
                          encoding="utf-8")
        written.append(target)
    return written
