"""Getting a run's model: local folders, pinned hub snapshots through the real huggingface_hub client against the
hub stand-in, and the disk checks (a tiny cache quota, and a real tiny tmpfs where this machine allows mounting)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from evaluator.model_fetch import DiskSpaceError, ModelFetchError, fetch_model, folder_size
from tests.hub_stub import HubStub


def test_local_folder_is_used_as_is(tiny_models, tmp_path: Path) -> None:
    assert fetch_model("demo/x", "0" * 40, str(tiny_models["random"]), tmp_path, min_free_gb=0) == tiny_models["random"]
    with pytest.raises(ModelFetchError, match="missing or has no config.json"):
        fetch_model("demo/x", "0" * 40, str(tmp_path / "gone"), tmp_path, min_free_gb=0)


def test_pinned_snapshot_is_downloaded_once(hub, tiny_models, tmp_path: Path) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    path = fetch_model("org/tiny", sha, None, tmp_path / "cache", min_free_gb=0)
    assert (path / "config.json").read_bytes() == (tiny_models["random"] / "config.json").read_bytes()
    assert sha in str(path)
    hub.requests.clear()
    assert fetch_model("org/tiny", sha, None, tmp_path / "cache", min_free_gb=0) == path
    assert hub.requests == []  # served from the cache, no hub call


def test_cache_quota_refuses_before_downloading(hub, tiny_models, tmp_path: Path) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    cache = tmp_path / "cache"
    with pytest.raises(DiskSpaceError, match=r"not enough space in the model cache: the model needs \d+ KB"):
        fetch_model("org/tiny", sha, None, cache, min_free_gb=0, quota_gb=100 / 1e6)  # 100 KB (decimal, common.display.GB)
    assert not any(p.suffix == ".safetensors" for p in cache.rglob("*"))
    assert not [m for m, p in hub.requests if "/resolve/" in p and m == "GET"]  # nothing was fetched


def test_free_disk_margin_is_required(hub, tiny_models, tmp_path: Path) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    with pytest.raises(DiskSpaceError, match="not enough free disk: the model needs .* plus a margin of 1000000"):
        fetch_model("org/tiny", sha, None, tmp_path / "cache", min_free_gb=1_000_000)


@pytest.fixture
def small_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 256 KB file system, when this machine lets us mount one (root in a privileged container)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with mount rights)")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_real_small_disk_is_refused(hub, tiny_models, small_tmpfs: Path) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    assert folder_size(tiny_models["random"]) > 256 * 1024
    with pytest.raises(DiskSpaceError, match=r"not enough free disk: .* and \d+ KB are free"):
        fetch_model("org/tiny", sha, None, small_tmpfs / "cache", min_free_gb=0)


def test_hub_problems_become_plain_reasons(hub, tiny_models, tmp_path: Path, monkeypatch) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    with pytest.raises(ModelFetchError, match="org/gone no longer exists on the hub"):
        fetch_model("org/gone", sha, None, tmp_path, min_free_gb=0)
    with pytest.raises(ModelFetchError, match="commit 0123456789ab of org/tiny no longer exists"):
        fetch_model("org/tiny", "0123456789ab" * 3 + "0123", None, tmp_path, min_free_gb=0)
    closed = HubStub.start()  # a hub that stops answering: a fresh address, so no kept-alive connection helps
    closed_url = closed.url
    closed.stop()
    monkeypatch.setenv("HF_ENDPOINT", closed_url)
    with pytest.raises(ModelFetchError, match="could not download org/tiny from the hub: .*Connection refused"):
        fetch_model("org/tiny", sha, None, tmp_path, min_free_gb=0)
