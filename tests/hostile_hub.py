"""Hostile repositories for the hub stand-in: the shapes an attacker (or a careless uploader) publishes to get
pickle weights loaded, or a model past the size limit, or code run, through intake and the worker.

Used by the intake tests (tests/submissions) and the worker tests (tests/worker): each conftest imports the two
fixtures below (``from tests.hostile_hub import hostile, hostile_files``), whose ``hub`` and ``tiny_models`` come
from that package. The files are built once per session from the tiny random model; every pickle is a real
``torch.save`` of the model's state dict, so a loader that accepts pickles really loads a working model from it.

Shapes (``hostile[shape]`` is the repo id):

- ``decoy``: ``pytorch_model.bin`` (the real weights, pickle) beside a tiny ``decoy.safetensors``; no
  ``model.safetensors``, so transformers would load the pickle.
- ``pickle_beside``: a good safetensors model plus a ``pytorch_model.bin``: acceptable, the pickle is never fetched.
- ``index_to_pickles``: ``model.safetensors.index.json`` whose shards are ``.bin`` pickles (which exist).
- ``index_missing_shard``: an index listing a safetensors shard the repository lacks.
- ``oversize_index``: a small real first shard and a second shard whose header holds 70.6B parameters.
- ``sharded``: a good model split over two safetensors shards with their index (the honest counterpart).
- ``remote_code``: config.json with ``auto_map`` and a modeling file that would exit if ever imported.
- ``gated``: gated, and the platform has no token.
- ``license_other``: a model card saying ``license: other`` without ``license_name``.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hub_stub import HubStub, header_only_safetensors

OVERSIZE_PARAMS = 70_600_000_000
SHAPES = ("decoy", "pickle_beside", "index_to_pickles", "index_missing_shard", "oversize_index", "sharded",
          "remote_code", "gated", "license_other")


@dataclass(frozen=True)
class HostileFiles:
    """The bytes the hostile shapes are made of, built once from the tiny model ``folder``."""

    folder: Path
    pickle: bytes  # torch.save(state_dict): a real pickle checkpoint of the same model
    decoy: bytes  # a valid safetensors file with one small tensor
    shards: tuple[bytes, bytes]  # the model's tensors split over two safetensors files
    config: dict


def _index(shards: dict[str, list[str]]) -> str:
    return json.dumps({"metadata": {}, "weight_map": {t: shard for shard, names in shards.items() for t in names}})


@pytest.fixture(scope="session")
def hostile_files(tiny_models: dict[str, Path]) -> HostileFiles:
    import torch
    from safetensors.torch import load_file, save

    folder = tiny_models["random"]
    tensors = load_file(folder / "model.safetensors")
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    names = sorted(tensors)
    half = len(names) // 2
    meta = {"format": "pt"}
    shards = (save({n: tensors[n] for n in names[:half]}, metadata=meta),
              save({n: tensors[n] for n in names[half:]}, metadata=meta))
    return HostileFiles(folder=folder, pickle=buffer.getvalue(), decoy=save({"w": torch.zeros(4)}, metadata=meta),
                        shards=shards, config=json.loads((folder / "config.json").read_text()))


def publish_hostile(hub: HubStub, files: HostileFiles) -> dict[str, str]:
    """Publish every hostile shape (see the module docstring) under ``hostile/<shape>``; returns shape -> repo id."""
    from safetensors.torch import load

    repos = {shape: f"hostile/{shape.replace('_', '-')}" for shape in SHAPES}
    folder, no_weights = files.folder, ("model.safetensors",)
    names = [sorted(load(shard)) for shard in files.shards]
    two = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    hub.add_repo(repos["decoy"], folder, exclude=no_weights,
                 extra_files={"pytorch_model.bin": files.pickle, "decoy.safetensors": files.decoy})
    hub.add_repo(repos["pickle_beside"], folder, extra_files={"pytorch_model.bin": files.pickle})
    bins = ("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin")
    hub.add_repo(repos["index_to_pickles"], folder, exclude=no_weights, extra_files={
        "model.safetensors.index.json": _index(dict(zip(bins, names))), bins[0]: files.pickle, bins[1]: files.pickle})
    hub.add_repo(repos["index_missing_shard"], folder, exclude=no_weights, extra_files={
        "model.safetensors.index.json": _index(dict(zip(two, names))), two[0]: files.shards[0]})
    big = header_only_safetensors({"model.layers.99.mlp.weight": ("BF16", [OVERSIZE_PARAMS])})
    hub.add_repo(repos["oversize_index"], folder, exclude=no_weights, extra_files={
        "model.safetensors.index.json": _index({two[0]: names[0] + names[1], two[1]: ["model.layers.99.mlp.weight"]}),
        two[0]: (folder / "model.safetensors").read_bytes(), two[1]: big})
    hub.add_repo(repos["sharded"], folder, exclude=no_weights, extra_files={
        "model.safetensors.index.json": _index(dict(zip(two, names))), two[0]: files.shards[0],
        two[1]: files.shards[1]})
    remote_config = {**files.config, "model_type": "medcustom",
                     "auto_map": {"AutoModelForCausalLM": "modeling_medcustom.MedCustomForCausalLM"}}
    hub.add_repo(repos["remote_code"], folder, extra_files={"config.json": json.dumps(remote_config),
                                                            "modeling_medcustom.py": "raise SystemExit('ran')\n"})
    hub.add_repo(repos["gated"], folder, gated=True)
    hub.add_repo(repos["license_other"], folder, card="---\nlicense: other\n---\n# A card naming no licence\n")
    return repos


@pytest.fixture
def hostile(hub: HubStub, hostile_files: HostileFiles) -> dict[str, str]:
    return publish_hostile(hub, hostile_files)
