"""Read a whole suite from a file, a folder (any depth, formats mixed) or a .zip, and check every item.

Nothing here touches the database: the importer and the preview both start from :func:`read_suite`, so what
an organizer previews is exactly what would be committed.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.benchmark.items import Item
from evaluator.benchmark.suites.archive import unpack_zip
from evaluator.benchmark.suites.checks import check_item
from evaluator.benchmark.suites.formats import DATA_SUFFIXES, FORMATS, Located, read_file
from evaluator.benchmark.suites.problems import Problem


@dataclass
class LoadedSuite:
    """Every item read, every problem found, and which format each file was read as."""

    source: str
    items: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)  # file -> format
    skipped: list[str] = field(default_factory=list)  # files that are not suite data (README, ...)

    @property
    def plain_items(self) -> list[Item]:
        return [located.item for located in self.items]


def read_suite(path: str | Path, *, fmt: str = "auto", task: str | None = None) -> LoadedSuite:
    """Read ``path`` (file, folder or .zip); ``fmt`` forces one format, ``task`` maps CSV files to a task."""
    path = Path(path).expanduser()
    loaded = LoadedSuite(source=str(path))
    if fmt not in FORMATS:
        loaded.problems.append(Problem(str(path), 0, f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"))
        return loaded
    if not path.exists():
        loaded.problems.append(Problem(str(path), 0, "no such file or folder"))
        return loaded
    if path.is_file() and path.suffix.lower() == ".zip":
        return _read_zip(path, loaded, fmt, task)
    _read_tree(path, loaded, fmt, task)
    return loaded


def _read_zip(path: Path, loaded: LoadedSuite, fmt: str, task: str | None) -> LoadedSuite:
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = Path(tmp) / "archive"
        problem = unpack_zip(path, unpacked)
        if problem is not None:
            loaded.problems.append(problem)
        else:
            _read_tree(unpacked, loaded, fmt, task, label=path.name)
    return loaded


def _data_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith((".", "__")) for part in p.relative_to(root).parts))


def _read_tree(root: Path, loaded: LoadedSuite, fmt: str, task: str | None, label: str | None = None) -> None:
    for file in _data_files(root):
        display = file.name if root.is_file() else file.relative_to(root).as_posix()
        display = f"{label}/{display}" if label else display
        if file.suffix.lower() not in DATA_SUFFIXES:
            loaded.skipped.append(display)
            continue
        result = read_file(file, display, fmt, task)
        loaded.formats[display] = result.format
        loaded.items.extend(result.items)
        loaded.problems.extend(result.problems)
    if not loaded.formats:
        loaded.problems.append(Problem(label or str(root), 0, "no suite files found (.jsonl, .json or .csv)"))
    elif not loaded.items and not loaded.problems:  # an empty suite would fail every run queued on it
        loaded.problems.append(Problem(label or str(root), 0,
                                       f"the suite is empty: no items in {', '.join(sorted(loaded.formats))}"))
    _check_items(loaded)


def _check_items(loaded: LoadedSuite) -> None:
    """Kind-specific checks for every item, then duplicate ids across the whole suite."""
    first_seen: dict[str, Located] = {}
    for located in loaded.items:
        for reason in check_item(located.item):
            loaded.problems.append(Problem(located.file, located.line, reason))
        earlier = first_seen.setdefault(located.item.id, located)
        if earlier is not located:
            loaded.problems.append(Problem(located.file, located.line,
                                           f"duplicate id {located.item.id!r} (first at {earlier.file}:{earlier.line})"))
    loaded.problems.sort(key=lambda p: (p.file, p.line))
