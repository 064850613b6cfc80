"""Fixtures of the submissions tests: the hub stand-in on 127.0.0.1 holding tiny models in every shape the
hub checks tell apart, and signed-up users."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.hostile_hub import HostileFiles, hostile, hostile_files, publish_hostile  # noqa: F401  (shared fixtures)
from tests.hub_stub import HubStub, header_only_safetensors, serve_hub
from tests.modelscope_stub import ModelScopeStub, serve_modelscope

SHAPES = ("good", "gated", "private", "remote_code", "pickle_only", "oversize", "no_card", "no_license",
          "no_chat_template", "base_no_template", "no_config")


def publish_shapes(hub: HubStub, folder: Path) -> dict[str, str]:
    """Publish ``folder`` (a tiny model) under one repo per shape; returns shape -> repo id."""
    config = json.loads((folder / "config.json").read_text())
    remote_config = {**config, "model_type": "medcustom",
                     "auto_map": {"AutoModelForCausalLM": "modeling_medcustom.MedCustomForCausalLM"}}
    repos = {shape: f"org/{shape.replace('_', '-')}" for shape in SHAPES}
    hub.add_repo(repos["good"], folder)
    hub.add_repo(repos["gated"], folder, gated=True)
    hub.add_repo(repos["private"], folder, private=True, token="hf_owner")
    hub.add_repo(repos["remote_code"], folder, extra_files={"config.json": json.dumps(remote_config),
                                                            "modeling_medcustom.py": "raise SystemExit('ran')\n"})
    hub.add_repo(repos["pickle_only"], folder, exclude=("*.safetensors",),
                 extra_files={"pytorch_model.bin": b"\x80\x04\x95pickle"})
    hub.add_repo(repos["oversize"], folder, extra_files={  # the real hub serves 141 GB here; the checks read the header
        "model.safetensors": header_only_safetensors({"lm_head.weight": ("BF16", [70_600_000_000])})})
    hub.add_repo(repos["no_card"], folder, exclude=("README.md",))
    hub.add_repo(repos["no_license"], folder, card="---\ntags:\n- medical\n---\n# A card without a license\n")
    hub.add_repo(repos["no_chat_template"], folder, exclude=("chat_template.jinja",))
    hub.add_repo(repos["base_no_template"], folder, exclude=("chat_template.jinja",))
    hub.add_repo(repos["no_config"], folder, exclude=("config.json",))
    return repos


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    yield from serve_hub(monkeypatch)


@pytest.fixture
def shapes(hub: HubStub, tiny_models: dict[str, Path]) -> dict[str, str]:
    return publish_shapes(hub, tiny_models["random"])


@pytest.fixture
def modelscope(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelScopeStub]:
    yield from serve_modelscope(monkeypatch)


@pytest.fixture
def ms_shapes(modelscope: ModelScopeStub, tiny_models: dict[str, Path]) -> dict[str, str]:
    """The same shapes as ``shapes``, published on the ModelScope stand-in (default branch ``master``)."""
    return publish_shapes(modelscope, tiny_models["random"])


@pytest.fixture
def ms_hostile(modelscope: ModelScopeStub, hostile_files: HostileFiles) -> dict[str, str]:
    """The hostile shapes (tests/hostile_hub.py), published on the ModelScope stand-in."""
    return publish_hostile(modelscope, hostile_files)
