"""ModelScope ids (``modelscope:<org>/<name>``) at intake: the same checks as hub ids, run through the real
``modelscope`` client against the ModelScope stand-in on 127.0.0.1 (tests/modelscope_stub.py), reached through the
client's own endpoint setting (MODELSCOPE_ENDPOINT). The bad inputs are the hub's: nonexistent, gated, private,
pickle weights (alone, beside a decoy safetensors, behind an index), oversize, remote code, no licence."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from common.settings import get_settings
from evaluator.engine.tiny_models import model_info as local_model_info
from submissions.accounts import create_user
from submissions.checks import check_modelscope
from submissions.forms import parse_form
from submissions.intake import submit_model
from submissions.modelscope import modelscope_endpoint
from submissions.tables import ModelEntry, Submission
from tests.hostile_hub import OVERSIZE_PARAMS
from tests.modelscope_stub import ModelScopeStub

FORM = {"revision": "", "precision": "bfloat16", "model_type": "chat", "use_chat_template": True,
        "contact": "dr.li@example.org"}


def failed(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.name: c.message for c in result.failures}


def test_good_model_passes_every_check_pinned_to_its_commit(engine, modelscope: ModelScopeStub, ms_shapes,
                                                            tiny_models: dict[str, Path]) -> None:
    result = check_modelscope(ms_shapes["good"], "master")
    assert result.ok, result.message
    assert result.source == "modelscope" and result.hub_id == "org/good"
    assert result.commit_sha == modelscope.repos["org/good"].branches["master"].sha
    assert result.params == local_model_info(tiny_models["random"])["params"]
    assert result.license == "apache-2.0"  # the card's YAML header, as on the hub
    assert {c.name for c in result.checks} == {"exists", "access", "weights", "size", "card", "config", "tokenizer",
                                              "chat_template"}
    assert result.message == f"modelscope:org/good@master pinned to {result.commit_sha}: all checks passed."
    # only the header of the weights was read (a Range request), never the weights
    weights = (tiny_models["random"] / "model.safetensors").stat().st_size
    assert 0 < modelscope.bytes_sent["model.safetensors"] <= 100_000 < weights
    assert set(modelscope.bytes_sent) == {"model.safetensors", "README.md", "config.json", "tokenizer_config.json"}


@pytest.mark.parametrize(("shape", "check", "words"), [
    ("gated", "access", "modelscope:org/gated is gated (access must be requested): the evaluator cannot download"),
    ("pickle_only", "weights", "Only pickle weights are loadable (pytorch_model.bin)"),
    ("oversize", "size", "70.60B parameters is more than this leaderboard's limit of 15B"),
    ("no_card", "card", "No model card"),
    ("no_chat_template", "chat_template", "has none"),
    ("no_config", "config", "No config.json"),
])
def test_bad_shapes_fail_their_check_as_on_the_hub(engine, ms_shapes, shape: str, check: str, words: str) -> None:
    result = check_modelscope(ms_shapes[shape], "master")
    assert list(failed(result)) == [check], result.message
    assert words in failed(result)[check]


@pytest.mark.parametrize(("shape", "check", "words"), [
    ("decoy", "weights", "Only pickle weights are loadable (pytorch_model.bin) (decoy.safetensors would not be "
                         "loaded): pickle files can run code when loaded, so they are refused."),
    ("index_to_pickles", "weights", "model.safetensors.index.json lists shards that are not safetensors"),
    ("index_missing_shard", "weights", "lists shards that are not in the repository"),
    ("oversize_index", "size", "70.60B parameters is more than this leaderboard's limit of 15B."),
    ("license_other", "card", "The model card says 'license: other' but names no licence"),
])
def test_hostile_repos_are_refused_with_the_hubs_reasons(engine, ms_hostile, shape: str, check: str,
                                                         words: str) -> None:
    result = check_modelscope(ms_hostile[shape], "master")
    assert list(failed(result)) == [check], result.message
    assert words in failed(result)[check]


def test_oversize_counts_every_shard_and_pickles_beside_are_ignored(engine, ms_hostile,
                                                                    tiny_models: dict[str, Path]) -> None:
    params = local_model_info(tiny_models["random"])["params"]
    assert check_modelscope(ms_hostile["oversize_index"], "master", max_params_b=1000).params == params + OVERSIZE_PARAMS
    beside = check_modelscope(ms_hostile["pickle_beside"], "master")
    assert beside.ok and beside.params == params
    weights = next(c for c in beside.checks if c.name == "weights")
    assert weights.message == ("Weights: model.safetensors. Pickle files beside them (pytorch_model.bin) are "
                               "ignored: the evaluator never downloads them.")


def test_unknown_model_private_model_and_unknown_revision(engine, ms_shapes) -> None:
    missing = check_modelscope("org/does-not-exist", "master")
    assert failed(missing) == {"exists": "The model modelscope:org/does-not-exist was not found on ModelScope. Check "
                                         "the spelling; private models cannot be evaluated."}
    assert "not found" in failed(check_modelscope(ms_shapes["private"], "master"))["exists"]
    revision = check_modelscope(ms_shapes["good"], "v9")
    assert failed(revision) == {"exists": "The model modelscope:org/good has no revision 'v9' (branch, tag or commit)."}


def test_remote_code_is_held_and_nothing_runs(engine, ms_shapes) -> None:
    result = check_modelscope(ms_shapes["remote_code"], "master")
    assert result.ok and result.needs_remote_code  # modeling_medcustom.py would exit the process if imported


def test_licence_comes_from_the_card_else_modelscopes_own_field(engine, modelscope: ModelScopeStub, ms_shapes) -> None:
    assert check_modelscope(ms_shapes["no_license"], "master").license == "Apache License 2.0"
    modelscope.licenses["org/no-license"] = None
    result = check_modelscope(ms_shapes["no_license"], "master")
    assert list(failed(result)) == ["card"] and "no license" in result.message


def test_submission_is_recorded_with_its_source_and_default_branch(engine, modelscope: ModelScopeStub,
                                                                   ms_shapes, monkeypatch) -> None:
    alice, bob = create_user("alice", "correct horse"), create_user("bobby", "correct horse")
    out = submit_model(alice.id, hub_id="modelscope:org/good", **FORM)
    assert out.status == "accepted", out.message
    sha = modelscope.repos["org/good"].branches["master"].sha
    assert f"modelscope:org/good pinned to {sha}" in out.message
    with Session(engine) as s:
        entry = s.get(ModelEntry, s.get(Submission, out.submission_id).model_id)
    assert (entry.hub_id, entry.source, entry.revision, entry.commit_sha) == ("org/good", "modelscope", "master", sha)
    assert entry.license == "apache-2.0" and entry.params and entry.card_data["facts"]["organisation"] == "org"
    again = submit_model(bob.id, hub_id="ModelScope:ORG/good", **FORM)  # prefix and id in any case: the same model
    assert again.reason == "duplicate" and f"modelscope:org/good at commit {sha[:12]}" in again.message
    held = submit_model(bob.id, hub_id="modelscope:org/remote-code", **FORM)
    assert held.status == "held"
    for shape in ("gated", "pickle_only", "oversize"):
        refused = submit_model(bob.id, hub_id=f"modelscope:{ms_shapes[shape]}", **FORM)
        assert (refused.status, refused.reason) == ("refused", "hub")
    monkeypatch.setenv("MEDBENCH_RATE_LIMIT_COUNT", "1")  # bob's held submission is his one
    get_settings.cache_clear()
    limited = submit_model(bob.id, hub_id="modelscope:org/good", **{**FORM, "precision": "float16"})
    assert limited.reason == "rate_limit"
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ModelEntry)).one() == 2


def test_form_reads_the_prefix_and_defaults_to_master() -> None:
    form = parse_form(hub_id="modelscope:qwen/Qwen2.5-0.5B-Instruct", contact="a@b.cn")
    assert (form.source, form.repo_id, form.revision) == ("modelscope", "qwen/Qwen2.5-0.5B-Instruct", "master")
    hub = parse_form(hub_id="qwen/Qwen2.5-0.5B-Instruct", contact="a@b.cn")
    assert (hub.source, hub.repo_id, hub.revision) == ("hf", "qwen/Qwen2.5-0.5B-Instruct", "main")
    with pytest.raises(ValueError, match="give the full model id as 'modelscope:organization/model-name'"):
        parse_form(hub_id="modelscope:qwen", contact="a@b.cn")


def test_unreachable_modelscope_is_said_in_words(engine, modelscope: ModelScopeStub, ms_shapes) -> None:
    url = modelscope_endpoint()
    assert url == modelscope.url  # the client's own endpoint setting points at the stand-in
    modelscope.stop()
    result = check_modelscope(ms_shapes["good"], "master")
    assert result.message == (f"ModelScope at {url} could not be reached. Nothing was submitted; please try again in "
                              "a few minutes.")
