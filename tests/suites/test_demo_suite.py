"""The bundled demo suite loads with zero problems and covers every dimension, task and task kind."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from evaluator.benchmark.suites.bundled import DEMO_SUITE_DIR, ensure_demo_suite
from evaluator.benchmark.suites.importer import export_suite, get_active_suite, load_items
from evaluator.benchmark.suites.preview import preview_suite
from evaluator.benchmark.suites.reader import read_suite
from evaluator.benchmark.tasks import CHOICE_KINDS, TASKS, Dimension, Kind


def test_the_demo_suite_loads_with_zero_problems_and_covers_everything() -> None:
    loaded = read_suite(DEMO_SUITE_DIR)
    assert [str(p) for p in loaded.problems] == []
    items = loaded.plain_items
    assert set(loaded.formats.values()) == {"jsonl"}
    assert len(items) >= 250
    assert set(Counter(i.task for i in items)) == set(TASKS)  # all 20 tasks
    assert {TASKS[i.task].dimension for i in items} == set(Dimension)
    kinds = Counter(TASKS[i.task].kind for i in items)
    assert set(kinds) == set(Kind)

    choice = [i for i in items if TASKS[i.task].kind in CHOICE_KINDS]
    assert len(choice) >= 150
    assert {Kind.SINGLE_CHOICE, Kind.MULTI_CHOICE, Kind.YES_NO} <= {TASKS[i.task].kind for i in choice}
    multi = [i for i in choice if TASKS[i.task].kind is Kind.MULTI_CHOICE]
    assert any(len(i.options) >= 5 for i in multi) and any(len(i.answer) >= 2 for i in multi)

    generated = [i for i in items if TASKS[i.task].kind in (Kind.OPEN_ENDED, Kind.EXTRACTION, Kind.RECORD)]
    assert len(generated) >= 60
    needs_points = [i for i in generated if TASKS[i.task].kind in (Kind.OPEN_ENDED, Kind.RECORD)]
    assert needs_points and all(i.answer_points for i in needs_points)
    assert all(i.scored for i in items)


def test_ensure_demo_suite_imports_once_and_activates(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        first = ensure_demo_suite(session)
        session.commit()
        again = ensure_demo_suite(session)
        assert again.id == first.id and get_active_suite(session).id == first.id
        assert len(load_items(session, first.id)) == first.item_count == len(read_suite(DEMO_SUITE_DIR).items)
        export_suite(session, first.id, tmp_path / "export")
    assert preview_suite(tmp_path / "export").version == first.version == preview_suite(DEMO_SUITE_DIR).version
