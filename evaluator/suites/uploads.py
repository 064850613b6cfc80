"""Files uploaded on the organizer page, staged in a folder so that they import exactly like a server folder."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from evaluator.suites.formats import DATA_SUFFIXES
from evaluator.suites.problems import SuiteError
from evaluator.suites.reader import unpack_zip

UPLOAD_SUFFIXES = (*DATA_SUFFIXES, ".zip")


def stage_uploads(files: Iterable[tuple[str, bytes]], dest: Path) -> Path:
    """Write (name, content) pairs into ``dest``; a .zip is unpacked into ``dest/<zip stem>/``.

    Only the base name of an upload is used, so a crafted name cannot write outside ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, content in files:
        safe = Path(name).name
        suffix = Path(safe).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            problems.append(f"{safe}:0: not a suite file (expected {', '.join(UPLOAD_SUFFIXES)})")
            continue
        target = dest / safe
        target.write_bytes(content)
        if suffix == ".zip":
            problem = unpack_zip(target, dest / target.stem)
            target.unlink()
            if problem is not None:
                problems.append(str(problem))
    if problems:
        raise SuiteError(problems, "upload refused")
    return dest
