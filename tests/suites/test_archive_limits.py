"""Zip bombs and file floods are refused in the CLI import and the Suites page's upload staging, staged uploads
are cleaned up, and the page's server-folder import stays inside MEDBENCH_IMPORT_ROOTS."""
from __future__ import annotations

import io
import json
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from common.settings import get_settings
from evaluator.ops.cli import app
from evaluator.benchmark.suites.bundled import DEMO_SUITE_DIR
from evaluator.benchmark.suites.problems import SuiteError
from evaluator.benchmark.suites.uploads import STALE_AFTER_S, new_upload_dir, stage_uploads, sweep_stale_uploads, uploads_root
from tests.pages import PAGES, add_user, open_page, shown
from tests.suites.conftest import item, write_jsonl

runner = CliRunner()
PAGE = PAGES / "suites.py"
MiB = 1024 * 1024


@pytest.fixture
def limits(monkeypatch, settings_env):  # type: ignore[no-untyped-def]
    """Limits of 16 MiB and 20 files, so a bomb of 256 MiB stays quick to build."""
    monkeypatch.setenv("MEDBENCH_IMPORT_MAX_BYTES", str(16 * MiB))
    monkeypatch.setenv("MEDBENCH_IMPORT_MAX_FILES", "20")
    get_settings.cache_clear()
    return get_settings()


def bomb(expanded_mib: int = 256) -> bytes:
    """A real zip bomb: one member of ``expanded_mib`` MiB of zeros, a few hundred KiB on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("Med-Exam.jsonl", "w") as member:
            zero = bytes(MiB)
            for _ in range(expanded_mib):
                member.write(zero)
    return buffer.getvalue()


def lying(archive: bytes, claimed: int = 100) -> bytes:
    """The archive with its local and central headers claiming ``claimed`` bytes uncompressed."""
    data = bytearray(archive)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22:local + 26] = struct.pack("<I", claimed)
    data[central + 24:central + 28] = struct.pack("<I", claimed)
    return bytes(data)


def many_files(n: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(n):
            zf.writestr(f"part{i}/Med-Exam.jsonl", '{"id": "x"}\n')
    return buffer.getvalue()


def test_the_bomb_is_small_on_disk() -> None:
    assert len(bomb()) < 1 * MiB


def test_cli_import_refuses_a_zip_bomb(engine: Engine, limits, tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(bomb())
    result = runner.invoke(app, ["import-suite", str(archive), "--name", "bomb"])
    assert result.exit_code == 1
    assert "bomb.zip: expands to more than 16.0 MiB (MEDBENCH_IMPORT_MAX_BYTES); refused" in result.output


def test_a_header_that_lies_about_sizes_is_refused_while_streaming(engine: Engine, limits, tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    archive.write_bytes(lying(bomb()))
    with zipfile.ZipFile(archive) as zf:
        assert sum(i.file_size for i in zf.infolist()) == 100  # the headers alone would let it through
    result = runner.invoke(app, ["import-suite", str(archive), "--name", "liar"])
    assert result.exit_code == 1 and "liar.zip: " in result.output


def test_cli_import_refuses_too_many_files(engine: Engine, limits, tmp_path: Path) -> None:
    archive = tmp_path / "flood.zip"
    archive.write_bytes(many_files(21))
    result = runner.invoke(app, ["import-suite", str(archive), "--name", "flood", "--dry-run"])
    assert result.exit_code == 1
    assert "flood.zip: holds more than 20 files (MEDBENCH_IMPORT_MAX_FILES); refused" in result.output


def test_staging_refuses_a_bomb_and_leaves_nothing(limits, tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    with pytest.raises(SuiteError) as refused:
        stage_uploads([("bomb.zip", bomb())], dest)
    assert refused.value.problems == ["bomb.zip: expands to more than 16.0 MiB (MEDBENCH_IMPORT_MAX_BYTES); refused"]
    assert not dest.exists()


def test_the_budget_is_shared_by_every_uploaded_file(limits, tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as refused:
        stage_uploads([("a.zip", many_files(15)), ("b.zip", many_files(15))], tmp_path / "stage")
    assert refused.value.problems == ["b.zip: holds more than 20 files (MEDBENCH_IMPORT_MAX_FILES); refused"]


def test_page_upload_of_a_bomb_is_refused_and_not_kept(engine: Engine, limits) -> None:
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.radio(key="suite_source").set_value("Upload files").run()
    at.file_uploader(key="suite_uploads").set_value([("bomb.zip", bomb(), "application/zip")])
    at.text_input(key="suite_name").input("bomb")
    at.button(key="preview").click().run()
    assert not at.exception
    error = shown(at.error[0].value)  # the problems are escaped (common.display)
    assert "upload refused" in error and "bomb.zip: expands to more than" in error
    assert "MEDBENCH_IMPORT_MAX_BYTES" in error
    assert list(uploads_root().iterdir()) == []


def test_cancel_removes_the_staged_upload(engine: Engine) -> None:
    at = open_page(PAGE, add_user(engine, "olivia", True))
    at.radio(key="suite_source").set_value("Upload files").run()
    row = json.dumps(item("a-1"), ensure_ascii=False) + "\n"
    at.file_uploader(key="suite_uploads").set_value([("a.jsonl", row.encode(), "text/plain")])
    at.button(key="preview").click().run()
    staged = Path(at.session_state["suite_upload_dir"])
    assert staged.parent == uploads_root() and staged.exists()
    at.button(key="cancel_preview").click().run()
    assert not staged.exists() and "suite_preview" not in at.session_state


def test_stale_uploads_are_swept(settings_env) -> None:
    old, fresh = new_upload_dir(), new_upload_dir()
    past = time.time() - STALE_AFTER_S - 60
    os.utime(old, (past, past))
    assert sweep_stale_uploads() == [old]
    assert not old.exists() and fresh.exists()
    os.utime(fresh, (past, past))
    newest = new_upload_dir()  # staging a new upload sweeps too
    assert not fresh.exists() and newest.exists()


def _preview_path(engine: Engine, path: str):  # type: ignore[no-untyped-def]
    at = open_page(PAGE, add_user(engine, f"olivia{time.monotonic_ns()}", True))
    at.text_input(key="suite_path").input(path)
    at.button(key="preview").click().run()
    assert not at.exception
    return at


def test_server_folder_outside_the_import_roots_is_refused(engine: Engine, settings_env, tmp_path: Path) -> None:
    outside = write_jsonl(tmp_path / "elsewhere" / "a.jsonl", [item("a-1")]).parent
    imports = settings_env.data_dir / "imports"
    imports.mkdir(parents=True)
    (imports / "link").symlink_to(outside)
    for path in ["/etc", str(outside), str(imports / "link"), str(imports / ".." / ".." / "elsewhere")]:
        at = _preview_path(engine, path)
        assert "outside the import folders" in at.error[0].value, path
        assert "suite_preview" not in at.session_state
    inside = write_jsonl(imports / "ok" / "a.jsonl", [item("a-1")]).parent
    assert not _preview_path(engine, str(inside)).error
    assert _preview_path(engine, str(DEMO_SUITE_DIR)).session_state["suite_preview"].ok  # the bundled suites


def test_configured_import_roots(engine: Engine, monkeypatch, tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "shared" / "a.jsonl", [item("a-1")]).parent
    monkeypatch.setenv("MEDBENCH_IMPORT_ROOTS", f"{tmp_path / 'shared'}, /nonexistent")
    get_settings.cache_clear()
    assert not _preview_path(engine, str(folder)).error
    assert "outside the import folders" in _preview_path(engine, str(DEMO_SUITE_DIR)).error[0].value
