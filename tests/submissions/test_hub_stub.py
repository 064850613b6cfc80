"""The hub stand-in answers the real huggingface_hub client the way huggingface.co does."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from evaluator.engine.tiny_models import model_info as local_model_info
from tests.hub_stub import HubStub, header_only_safetensors


def test_model_info_pins_sha_and_reports_safetensors_card_and_config(hub: HubStub, tiny_models: dict[str, Path]) -> None:
    sha = hub.add_repo("org/tiny", tiny_models["random"])
    info = HfApi(endpoint=hub.url).model_info("org/tiny", revision="main")
    assert info.sha == sha and len(sha) == 40
    assert info.safetensors is not None
    assert info.safetensors.total == local_model_info(tiny_models["random"])["params"]
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert info.config["model_type"] == "llama"
    assert "<|im_start|>" in info.config["chat_template_jinja"]
    assert {s.rfilename for s in info.siblings} >= {"config.json", "model.safetensors", "tokenizer_config.json"}
    assert info.gated is False and info.private is False
    # the same revision by SHA, and the route without a revision
    assert HfApi(endpoint=hub.url).model_info("org/tiny", revision=sha).sha == sha
    assert HfApi(endpoint=hub.url).model_info("org/tiny").sha == sha


def test_snapshot_download_by_sha_gives_identical_files(hub: HubStub, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = tiny_models["letter_a"]
    sha = hub.add_repo("org/letter", folder)
    local = Path(snapshot_download("org/letter", revision=sha, endpoint=hub.url, cache_dir=tmp_path / "cache"))
    assert local.name == sha
    expected = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    got = {p.name: p.read_bytes() for p in local.iterdir() if p.is_file()}
    assert got == expected
    # files come over GET /resolve after a HEAD with X-Repo-Commit/ETag (what file_download requires)
    assert ("HEAD", f"/org/letter/resolve/{sha}/config.json") in hub.requests
    assert ("GET", f"/org/letter/resolve/{sha}/model.safetensors") in hub.requests


def test_branches_pin_to_different_shas_and_tree_lists_files(hub: HubStub, tiny_models: dict[str, Path]) -> None:
    main = hub.add_repo("org/tiny", tiny_models["random"])
    dev = hub.add_repo("org/tiny", tiny_models["random"], revision="dev", extra_files={"notes/a.txt": "x"})
    assert main != dev
    api = HfApi(endpoint=hub.url)
    assert api.model_info("org/tiny", revision="dev").sha == dev
    paths = {f.path for f in api.list_repo_tree("org/tiny", revision="dev", recursive=True)}
    assert {"notes", "notes/a.txt", "config.json"} <= paths
    top = {f.path for f in api.list_repo_tree("org/tiny", revision="dev")}
    assert "notes" in top and "notes/a.txt" not in top


def test_errors_map_to_huggingface_hub_exceptions(hub: HubStub, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    hub.add_repo("org/gated", tiny_models["random"], gated=True, token="hf_granted")
    hub.add_repo("org/private", tiny_models["random"], private=True, token="hf_owner")
    hub.add_repo("org/tiny", tiny_models["random"])
    api = HfApi(endpoint=hub.url)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/missing")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/private")
    assert api.model_info("org/private", token="hf_owner").private is True
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/tiny", revision="no-such-branch")
    # gated: metadata is public, files are not
    assert api.model_info("org/gated").gated == "manual"
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("org/gated", "config.json", endpoint=hub.url, cache_dir=tmp_path)
    assert err.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("org/gated", "config.json", endpoint=hub.url, cache_dir=tmp_path, token="hf_other")
    assert err.value.response.status_code == 403
    path = hf_hub_download("org/gated", "config.json", endpoint=hub.url, cache_dir=tmp_path, token="hf_granted")
    assert json.loads(Path(path).read_text())["model_type"] == "llama"
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/tiny", "pytorch_model.bin", endpoint=hub.url, cache_dir=tmp_path)


def test_shapes_exclude_extra_files_card_and_params(hub: HubStub, tiny_models: dict[str, Path]) -> None:
    hub.add_repo("org/pickle", tiny_models["random"], exclude=("*.safetensors",),
                 extra_files={"pytorch_model.bin": b"\x80\x04pickle"})
    hub.add_repo("org/big", tiny_models["random"], extra_files={
        "model.safetensors": header_only_safetensors({"w": ("BF16", [70_000_000_000])})})
    hub.add_repo("org/nolicense", tiny_models["random"], card="# A card without metadata\n")
    api = HfApi(endpoint=hub.url)
    pickle = api.model_info("org/pickle")
    assert pickle.safetensors is None
    assert "pytorch_model.bin" in {s.rfilename for s in pickle.siblings}
    assert api.model_info("org/big").safetensors.total == 70_000_000_000
    assert api.model_info("org/nolicense").card_data is None


def test_stopped_stub_refuses_connections_even_kept_alive_ones(tiny_models: dict[str, Path]) -> None:
    import httpx2

    stub = HubStub.start()
    stub.add_repo("org/tiny", tiny_models["random"])
    api = HfApi(endpoint=stub.url)
    assert api.model_info("org/tiny", timeout=2).sha  # opens a pooled keep-alive connection
    stub.stop()
    with pytest.raises(httpx2.TransportError):
        api.model_info("org/tiny", timeout=2)
