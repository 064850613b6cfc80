"""The demo suite shipped with the project (``evaluator/benchmark/suites/demo/<Task>.jsonl``), imported on first start."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from common.settings import get_settings
from evaluator.benchmark.suites.importer import activate_suite, get_active_suite, import_suite
from evaluator.benchmark.suites.visibility import PUBLIC
from evaluator.tables import Suite

DEMO_SUITE_DIR = Path(__file__).resolve().parent / "demo"


def ensure_demo_suite(session: Session) -> Suite:
    """Import the bundled suite (a no-op when its version is stored) and activate it if no suite is active. It is
    public: its items were written for this project and are meant to be read (spec section 8)."""
    suite = import_suite(session, DEMO_SUITE_DIR, get_settings().demo_suite,
                         description="Bundled demo suite: original items covering every MedBench task.",
                         visibility=PUBLIC)
    if get_active_suite(session) is None:
        activate_suite(session, suite.id)
    return suite
