"""Which server folders the Suites page's "server folder or file" import may read (``MEDBENCH_IMPORT_ROOTS``).

Why: the page runs with the app's rights, so a free path would let an organizer account list and read any
file on the server (``/etc``, other apps' data). Paths are resolved (symlinks, ``..``) before the check, so a
link inside a root that points outside it is refused too. The CLI is not restricted: its operator already
has a shell on the server.
"""
from __future__ import annotations

from pathlib import Path

from common.settings import get_settings
from evaluator.benchmark.suites.bundled import DEMO_SUITE_DIR
from evaluator.benchmark.suites.problems import SuiteError


def import_roots() -> list[Path]:
    """The configured roots, resolved; by default ``data_dir/imports`` and the bundled suites."""
    settings = get_settings()
    configured = [part.strip() for part in settings.import_roots.split(",") if part.strip()]
    roots = [Path(p).expanduser() for p in configured] or [settings.data_dir / "imports", DEMO_SUITE_DIR]
    return [root.resolve() for root in roots]


def check_import_path(path: str) -> Path:
    """``path`` resolved, when it lies inside an import root; SuiteError (one line) otherwise."""
    roots = import_roots()
    resolved = Path(path).expanduser().resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise SuiteError([f"{path}:0: outside the import folders ({', '.join(map(str, roots))}); put the suite "
                          "there or set MEDBENCH_IMPORT_ROOTS"], "path refused")
    return resolved
