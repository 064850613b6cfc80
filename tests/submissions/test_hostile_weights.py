"""Intake against the hostile repositories (tests/hostile_hub.py): it judges the weights transformers will load,
counts every shard from its header, and refuses pickles, oversize behind an index and unnamed 'other' licences."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from evaluator.engine.tiny_models import model_info as local_model_info
from submissions.accounts import create_user
from submissions.checks import check_validity
from submissions.intake import submit_model
from submissions.tables import ModelEntry
from tests.hostile_hub import OVERSIZE_PARAMS
from tests.hub_stub import HubStub, header_only_safetensors

FORM = {"revision": "main", "precision": "bfloat16", "model_type": "chat", "use_chat_template": True,
        "contact": "dr.li@example.org"}


def failed(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.name: c.message for c in result.failures}


@pytest.mark.parametrize(("shape", "check", "words"), [
    ("decoy", "weights", "Only pickle weights are loadable (pytorch_model.bin) (decoy.safetensors would not be "
                         "loaded): pickle files can run code when loaded, so they are refused."),
    ("index_to_pickles", "weights", "model.safetensors.index.json lists shards that are not safetensors "
                                    "(pytorch_model-00001-of-00002.bin, pytorch_model-00002-of-00002.bin)"),
    ("index_missing_shard", "weights", "model.safetensors.index.json lists shards that are not in the repository "
                                       "(model-00002-of-00002.safetensors)."),
    ("oversize_index", "size", "70.60B parameters is more than this leaderboard's limit of 15B."),
    ("gated", "access", "gated"),
    ("license_other", "card", "The model card says 'license: other' but names no licence: add 'license_name'"),
])
def test_hostile_repos_are_refused_with_the_reason(engine, hostile: dict[str, str], shape: str, check: str,
                                                   words: str) -> None:
    result = check_validity(hostile[shape], "main", use_chat_template=True)
    assert list(failed(result)) == [check], result.message
    assert words in failed(result)[check]


def test_oversize_behind_an_index_counts_every_shard_from_its_header(engine, hub: HubStub, hostile: dict[str, str],
                                                                     tiny_models: dict[str, Path]) -> None:
    result = check_validity(hostile["oversize_index"], "main", max_params_b=1000)
    assert result.ok, result.message
    assert result.params == local_model_info(tiny_models["random"])["params"] + OVERSIZE_PARAMS
    weights = next(c for c in result.checks if c.name == "weights")
    assert weights.message == "Weights: 2 safetensors shards listed in model.safetensors.index.json."


def test_sharded_model_passes_with_the_sum_of_its_shards(engine, hub: HubStub, hostile: dict[str, str],
                                                         tiny_models: dict[str, Path]) -> None:
    result = check_validity(hostile["sharded"], "main")
    assert result.ok, result.message
    assert result.params == local_model_info(tiny_models["random"])["params"]
    weights = next(c for c in result.checks if c.name == "weights")
    assert weights.message == "Weights: 2 safetensors shards listed in model.safetensors.index.json."


def test_pickle_beside_safetensors_is_accepted_and_said_to_be_ignored(engine, hostile: dict[str, str],
                                                                     tiny_models: dict[str, Path]) -> None:
    result = check_validity(hostile["pickle_beside"], "main")
    assert result.ok, result.message
    assert result.params == local_model_info(tiny_models["random"])["params"]
    weights = next(c for c in result.checks if c.name == "weights")
    assert weights.message == ("Weights: model.safetensors. Pickle files beside them (pytorch_model.bin) are "
                               "ignored: the evaluator never downloads them.")


def test_remote_code_is_held_and_nothing_runs(engine, hostile: dict[str, str]) -> None:
    result = check_validity(hostile["remote_code"], "main")
    assert result.ok and result.needs_remote_code  # modeling_medcustom.py would raise SystemExit if imported


def test_named_other_licence_is_recorded(engine, hub: HubStub, tiny_models: dict[str, Path]) -> None:
    hub.add_repo("org/own-licence", tiny_models["random"],
                 card="---\nlicense: other\nlicense_name: medbench-research\nlicense_link: LICENSE\n---\n# Card\n")
    result = check_validity("org/own-licence", "main")
    assert result.ok, result.message
    assert result.license == "other:medbench-research"


def test_config_transformers_weights_is_the_file_judged(engine, hub: HubStub, tiny_models: dict[str, Path]) -> None:
    """transformers loads config.json's ``transformers_weights`` before model.safetensors: so does intake."""
    config = json.loads((tiny_models["random"] / "config.json").read_text())
    big = header_only_safetensors({"w": ("BF16", [OVERSIZE_PARAMS])})
    hub.add_repo("org/named-big", tiny_models["random"], extra_files={
        "config.json": json.dumps({**config, "transformers_weights": "real.safetensors"}), "real.safetensors": big})
    assert list(failed(check_validity("org/named-big", "main"))) == ["size"]
    hub.add_repo("org/named-pickle", tiny_models["random"], extra_files={
        "config.json": json.dumps({**config, "transformers_weights": "adapter_model.bin"}),
        "adapter_model.bin": b"\x80\x04pickle"})
    assert "which are not safetensors" in failed(check_validity("org/named-pickle", "main"))["weights"]


def test_decoy_submission_is_refused_and_nothing_recorded(engine, hostile: dict[str, str]) -> None:
    user = create_user("mallory", "correct horse battery staple")
    out = submit_model(user.id, hub_id=hostile["decoy"], **FORM)
    assert out.status == "refused" and out.reason == "hub" and "pickle" in out.message
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ModelEntry)).one() == 0


def test_pickle_beside_submission_records_the_loaded_weights_size(engine, hostile: dict[str, str],
                                                                  tiny_models: dict[str, Path]) -> None:
    user = create_user("carol", "correct horse battery staple")
    out = submit_model(user.id, hub_id=hostile["pickle_beside"], **FORM)
    assert out.status == "accepted", out.message
    with Session(engine) as s:
        entry = s.exec(select(ModelEntry)).one()
    assert entry.params == local_model_info(tiny_models["random"])["params"]


def test_negative_dimension_cannot_hide_parameters(engine, hub: HubStub, tiny_models: dict[str, Path]) -> None:
    """A header whose second tensor has a negative size would cancel the first one in a naive sum."""
    header = header_only_safetensors({"a": ("BF16", [OVERSIZE_PARAMS]), "b": ("BF16", [1, -OVERSIZE_PARAMS])})
    hub.add_repo("org/negative", tiny_models["random"], extra_files={"model.safetensors": header})
    assert failed(check_validity("org/negative", "main")) == {
        "weights": f"model.safetensors has a tensor with an invalid shape [1, -{OVERSIZE_PARAMS}]."}
