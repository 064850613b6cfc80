"""Getting a run's model: local folders, pinned hub snapshots through the real huggingface_hub client against the
hub stand-in, and the disk checks (a tiny cache quota, and a real tiny tmpfs where this machine allows mounting)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evaluator.engine.model_fetch import DiskSpaceError, ModelFetchError, fetch_model, folder_size
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
    # nothing but the small JSON files that say which weights load (config.json) was fetched
    assert [p for m, p in hub.requests if "/resolve/" in p and m == "GET"] == [f"/org/tiny/resolve/{sha}/config.json"]


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
    with pytest.raises(ModelFetchError, match="could not download org/tiny: the model hub could not be reached"):
        fetch_model("org/tiny", sha, None, tmp_path, min_free_gb=0)


# ----- hostile repositories (tests/hostile_hub.py): only what the model loads is fetched, and never a pickle -----

def _fetched(hub: HubStub) -> set[str]:
    """Names of the files the client asked for in any way (HEAD or GET)."""
    return {p.rsplit("/", 1)[-1] for _, p in hub.requests if "/resolve/" in p}


def test_pickle_beside_safetensors_is_never_downloaded_nor_loaded(hub, hostile, tmp_path: Path) -> None:
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    repo = hostile["pickle_beside"]
    path = fetch_model(repo, hub.repos[repo].branches["main"].sha, None, tmp_path / "cache", min_free_gb=0)
    assert (path / "model.safetensors").is_file() and not (path / "pytorch_model.bin").exists()
    assert "pytorch_model.bin" not in _fetched(hub)
    assert "README.md" not in _fetched(hub)  # only what loading needs
    runner = TransformersRunner(str(path), device="cpu")
    assert runner.model.config.model_type == "llama"
    runner.close()


@pytest.mark.parametrize(("shape", "words"), [
    ("decoy", "Only pickle weights are loadable (pytorch_model.bin)"),
    ("index_to_pickles", "lists shards that are not safetensors"),
    ("index_missing_shard", "lists shards that are not in the repository"),
])
def test_hostile_weights_are_refused_before_any_weight_is_fetched(hub, hostile, tmp_path: Path, shape: str,
                                                                   words: str) -> None:
    repo = hostile[shape]
    sha = hub.repos[repo].branches["main"].sha
    with pytest.raises(ModelFetchError, match=rf"{repo}@{sha[:12]} is not evaluated: .*{re.escape(words)}"):
        fetch_model(repo, sha, None, tmp_path / "cache", min_free_gb=0)
    assert not {n for n in _fetched(hub) if n.endswith((".bin", ".safetensors"))}


def test_sharded_model_is_fetched_whole_and_loads_like_the_single_file(hub, hostile, tiny_models,
                                                                       tmp_path: Path) -> None:
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    repo = hostile["sharded"]
    path = fetch_model(repo, hub.repos[repo].branches["main"].sha, None, tmp_path / "cache", min_free_gb=0)
    assert {p.name for p in path.glob("model*.safetensors*")} == {
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}
    sharded = TransformersRunner(str(path), device="cpu").model.state_dict()
    single = TransformersRunner(str(tiny_models["random"]), device="cpu").model.state_dict()
    assert sharded.keys() == single.keys() and all(sharded[k].equal(single[k]) for k in single)


def test_remote_code_is_fetched_but_never_run_without_permission(hub, hostile, tmp_path: Path) -> None:
    from evaluator.engine.runners.base import ModelLoadError
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    repo = hostile["remote_code"]
    path = fetch_model(repo, hub.repos[repo].branches["main"].sha, None, tmp_path / "cache", min_free_gb=0)
    assert (path / "modeling_medcustom.py").is_file()  # an organizer may allow it for this commit
    with pytest.raises(ModelLoadError, match="cannot load model"):  # the module raises SystemExit if imported
        TransformersRunner(str(path), device="cpu", trust_remote_code=False)


def test_gated_repo_is_a_plain_reason(hub, hostile, tmp_path: Path) -> None:
    repo = hostile["gated"]
    with pytest.raises(ModelFetchError, match="hostile/gated is gated and the platform has not been granted access"):
        fetch_model(repo, hub.repos[repo].branches["main"].sha, None, tmp_path / "cache", min_free_gb=0)


def test_runner_never_loads_a_pickle_checkpoint(hostile_files, tmp_path: Path) -> None:
    """A local folder (demo or organizer import) with a real pickle checkpoint only: transformers must not fall
    back to it (``use_safetensors=True``)."""
    from evaluator.engine.runners.base import ModelLoadError
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    folder = tmp_path / "pickled"
    shutil.copytree(hostile_files.folder, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "pytorch_model.bin").write_bytes(hostile_files.pickle)
    with pytest.raises(ModelLoadError, match="no file named model.safetensors"):
        TransformersRunner(str(folder), device="cpu")
