"""Unpack a suite .zip with limits on what it may expand to (a 4 MiB zip bomb would otherwise fill the disk).

The limits (``MEDBENCH_IMPORT_MAX_BYTES``, ``MEDBENCH_IMPORT_MAX_FILES``) are a budget shared by every archive
and file of one import or upload. The headers' declared sizes refuse an honest oversized archive before any
byte is written; the bytes actually decompressed are counted as they stream, so a header that lies about its
sizes is caught too. A refused archive leaves nothing behind.
"""
from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.settings import get_settings
from evaluator.benchmark.suites.problems import Problem

_CHUNK = 1024 * 1024


@dataclass
class Budget:
    """What one import or upload may still write: bytes and files."""

    bytes_left: int
    files_left: int

    @classmethod
    def from_settings(cls) -> "Budget":
        settings = get_settings()
        return cls(settings.import_max_bytes, settings.import_max_files)

    def too_big(self, name: str) -> Problem:
        limit = get_settings().import_max_bytes
        return Problem(name, 0, f"expands to more than {_size(limit)} (MEDBENCH_IMPORT_MAX_BYTES); refused")

    def too_many(self, name: str) -> Problem:
        limit = get_settings().import_max_files
        return Problem(name, 0, f"holds more than {limit} files (MEDBENCH_IMPORT_MAX_FILES); refused")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


class _Exceeded(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _member_path(dest: Path, name: str) -> Path | None:
    """Where a member goes under ``dest``: absolute parts, drive letters, '.' and '..' dropped (as zipfile
    does), so no member can land outside ``dest``. None for a name that is nothing after that."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts
             if p not in ("", ".", "..", "/") and not p.endswith(":")]
    return dest.joinpath(*parts) if parts else None


def unpack_zip(archive: Path, dest: Path, budget: Budget | None = None) -> Problem | None:
    """Extract ``archive`` into ``dest`` within ``budget`` (default: the settings' limits, for this archive
    alone); a problem instead, with ``dest`` removed, when it is not a zip or exceeds the budget."""
    budget = budget or Budget.from_settings()
    try:
        with zipfile.ZipFile(archive) as opened:
            _extract(opened, dest, budget, archive.name)
    except zipfile.BadZipFile:
        shutil.rmtree(dest, ignore_errors=True)
        return Problem(archive.name, 0, "not a valid .zip archive")
    except _Exceeded as exceeded:
        shutil.rmtree(dest, ignore_errors=True)
        return exceeded.problem
    return None


def _extract(opened: zipfile.ZipFile, dest: Path, budget: Budget, name: str) -> None:
    members = [info for info in opened.infolist() if not info.is_dir()]
    if len(members) > budget.files_left:
        raise _Exceeded(budget.too_many(name))
    if sum(info.file_size for info in members) > budget.bytes_left:  # honest headers: refuse before writing
        raise _Exceeded(budget.too_big(name))
    dest.mkdir(parents=True, exist_ok=True)
    for info in members:
        target = _member_path(dest, info.filename)
        if target is None:
            continue
        budget.files_left -= 1
        target.parent.mkdir(parents=True, exist_ok=True)
        with opened.open(info) as source, target.open("wb") as out:
            while chunk := source.read(min(_CHUNK, budget.bytes_left + 1)):
                budget.bytes_left -= len(chunk)
                if budget.bytes_left < 0:  # the header lied: counted on the decompressed bytes themselves
                    raise _Exceeded(budget.too_big(name))
                out.write(chunk)


def charge_file(budget: Budget, name: str, size: int) -> Problem | None:
    """Take a plain uploaded file of ``size`` bytes from ``budget``; a problem when it does not fit."""
    if budget.files_left < 1:
        return budget.too_many(name)
    if size > budget.bytes_left:
        return budget.too_big(name)
    budget.files_left -= 1
    budget.bytes_left -= size
    return None
