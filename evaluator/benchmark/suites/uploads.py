"""Files uploaded on the organizer page, staged in a folder so that they import exactly like a server folder.

Staged uploads live under ``data_dir/uploads/`` (one folder per preview). The page removes its folder after an
import or a cancel; folders left by sessions that ended otherwise (a closed tab, a restarted app) are swept
once they are older than ``STALE_AFTER_S``, at app start and whenever a new upload is staged.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from common.settings import get_settings
from evaluator.benchmark.suites.archive import Budget, charge_file, unpack_zip
from evaluator.benchmark.suites.formats import DATA_SUFFIXES
from evaluator.benchmark.suites.problems import Problem, SuiteError

UPLOAD_SUFFIXES = (*DATA_SUFFIXES, ".zip")
STALE_AFTER_S = 3600.0  # a preview older than an hour is abandoned; its organizer previews again
_PREFIX = "upload-"


def uploads_root() -> Path:
    """The folder holding every staged upload."""
    return get_settings().data_dir / "uploads"


def sweep_stale_uploads(max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove staged uploads older than ``max_age_s``; returns the folders removed."""
    root = uploads_root()
    if not root.is_dir():
        return []
    cutoff = time.time() - max_age_s
    removed = []
    for folder in root.glob(f"{_PREFIX}*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def new_upload_dir() -> Path:
    """A fresh folder for one upload (stale ones are swept first)."""
    sweep_stale_uploads()
    root = uploads_root()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_PREFIX, dir=root))


def discard_upload(folder: str | Path | None) -> None:
    """Remove one staged upload (after its import, or when the organizer cancels); None does nothing."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def stage_uploads(files: Iterable[tuple[str, bytes]], dest: Path) -> Path:
    """Write (name, content) pairs into ``dest``; a .zip is unpacked into ``dest/<zip stem>/``.

    Only the base name of an upload is used, so a crafted name cannot write outside ``dest``. Everything staged
    shares one budget (MEDBENCH_IMPORT_MAX_BYTES / _FILES); a refused upload leaves ``dest`` removed.
    """
    dest.mkdir(parents=True, exist_ok=True)
    budget = Budget.from_settings()
    problems = []
    for name, content in files:
        safe = Path(name).name
        suffix = Path(safe).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            problems.append(str(Problem(safe, 0, f"not a suite file (expected {', '.join(UPLOAD_SUFFIXES)})")))
            continue
        target = dest / safe
        if suffix != ".zip" and (problem := charge_file(budget, safe, len(content))) is not None:
            problems.append(str(problem))
            continue
        target.write_bytes(content)
        if suffix == ".zip":
            problem = unpack_zip(target, dest / target.stem, budget)
            target.unlink()
            if problem is not None:
                problems.append(str(problem))
    if problems:
        discard_upload(dest)
        raise SuiteError(problems, "upload refused")
    return dest
