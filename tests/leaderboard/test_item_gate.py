"""Structure of the item gate (spec section 8): public code has no way to item-level data but
``evaluator.item_access.open_runs``.

An AST check over every module of the leaderboard package and every public page: none names the item tables
(``ItemResult``, ``SuiteItem``, ``TagReview`` or their table names in SQL text), builds an ``ItemReader`` itself,
or calls the evaluator's other item readers (suite ``load_items`` / ``export_suite``, ``export_run``, the tag review
samples). Written as a test because the import-linter contract lands separately; the integrator may express the
same rule as an import-linter "forbidden" contract.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlmodel import Session

from bench.seed_results import seed_demo_results
from common.db import session_scope
from evaluator.item_access import ItemReader, PrivateItems, Viewer, open_runs
from evaluator.benchmark.suites.visibility import set_visibility
from leaderboard.details import details_jsonl
from leaderboard.item_browser import ItemFilter, browse_items, disagreements, tag_counts
from tests.leaderboard.conftest import ROOT

PUBLIC_MODULES = sorted((ROOT / "leaderboard").rglob("*.py")) + [
    ROOT / "submissions" / "pages" / name for name in ("submit.py", "queue.py", "account.py")]
FORBIDDEN_NAMES = {"ItemResult", "SuiteItem", "TagReview", "ItemReader", "load_items", "export_suite", "export_run",
                   "tagged_rows", "draw_sample"}
FORBIDDEN_STRINGS = ("item_results", "suite_items", "tag_reviews")
ALLOWED = {  # (module, name): the leaderboard's own names that happen to match
    ("leaderboard/item_browser.py", "load_items"),  # builds views from an ItemReader it got from the gate
    ("leaderboard/item_browser.py", "ItemReader"),  # the type of that parameter, never constructed
}


def violations(path: Path, root: Path = ROOT) -> list[str]:
    """Every forbidden name, import or SQL table name in one module, as 'file:line: what'."""
    relative = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if (node.module or "").startswith("sqlalchemy") and "text" in names:
                found.append(f"{relative}:{node.lineno}: raw SQL (sqlalchemy.text)")
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = [node.name]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"{relative}:{node.lineno}: SQL on {t}" for t in FORBIDDEN_STRINGS if t in node.value]
        for name in names:
            if name in FORBIDDEN_NAMES and (relative, name) not in ALLOWED:
                found.append(f"{relative}:{getattr(node, 'lineno', 0)}: {name}")
    return found


def test_public_code_reads_items_only_through_the_gate() -> None:
    assert len(PUBLIC_MODULES) > 10
    assert [v for path in PUBLIC_MODULES for v in violations(path)] == []


def test_the_check_catches_a_direct_read(tmp_path: Path) -> None:
    """The rule fails on the code it exists to stop (the question browser before the gate)."""
    module = tmp_path / "leaderboard" / "item_browser.py"
    module.parent.mkdir()
    module.write_text((ROOT / "leaderboard" / "item_browser.py").read_text(encoding="utf-8")
                      + "from evaluator.tables import ItemResult\nQ = 'select prompt from item_results'\n")
    assert sorted(v.split(": ", 1)[1] for v in violations(module, tmp_path)) == ["ItemResult",
                                                                                 "SQL on item_results"]


def test_a_reader_comes_from_the_gate_only(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        with pytest.raises(PermissionError, match="open_runs only"):
            ItemReader(session, [1], object())
        with pytest.raises(LookupError, match="no run 99"):
            open_runs(session, [99], Viewer())
    assert issubclass(PrivateItems, PermissionError)


def test_the_gate_on_sqlite_and_postgresql(any_engine) -> None:  # type: ignore[no-untyped-def]
    """Every public reader refuses a private suite's runs to visitors, in one line, and serves organizers; a
    public suite's runs are served to everyone (details download included)."""
    with session_scope(any_engine) as session:
        world = seed_demo_results(session)
        runs = [run.id for run in world.runs.values()][:2]
    with session_scope(any_engine) as session:
        for viewer in (Viewer(), Viewer(organizer=True)):
            assert browse_items(session, runs[0], ItemFilter(), viewer=viewer).total > 0
            assert disagreements(session, runs, viewer=viewer)[0] > 0
            assert b'"prompt"' in details_jsonl(session, runs[0], viewer=viewer)
        set_visibility(session, world.suite.id, "private", actor=None)
    with session_scope(any_engine) as session:
        for read in (lambda v: browse_items(session, runs[0], ItemFilter(), viewer=v),
                     lambda v: tag_counts(session, runs[0], viewer=v),
                     lambda v: disagreements(session, runs, viewer=v),
                     lambda v: details_jsonl(session, runs[0], viewer=v)):
            with pytest.raises(PrivateItems, match=r"^Suite “seed” is a private test set: [^\n]+$"):
                read(Viewer())
            assert read(Viewer(organizer=True))
        with pytest.raises(PrivateItems):  # the default viewer is a visitor: forgetting it fails closed
            browse_items(session, runs[0], ItemFilter())
