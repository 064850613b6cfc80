"""The worker's ModelScope downloads: through the real ``modelscope`` client's ``snapshot_download`` against the
ModelScope stand-in on 127.0.0.1, with the hub's allow-list (only the weights intake judged and the small files
beside them, never a pickle), the disk checks, plain reasons for ModelScope's refusals, and one submission taken
from intake to a finished evaluation."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaluator.engine.model_fetch import DiskSpaceError, ModelFetchError, fetch_model
from tests.modelscope_stub import ModelScopeStub


def fetch(modelscope: ModelScopeStub, repo: str, cache: Path, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    sha = modelscope.repos[repo].branches["master"].sha
    return fetch_model(repo, sha, None, cache, min_free_gb=0, source="modelscope", **kwargs)


def fetched(modelscope: ModelScopeStub) -> set[str]:
    """Names of the files the client asked for (GET or HEAD of the file route)."""
    return {re.sub(r".*FilePath=", "", p) for _, p in modelscope.requests if "/repo?" in p}


def test_pinned_snapshot_is_downloaded_once_with_only_what_loads(modelscope: ModelScopeStub, tiny_models,
                                                                 tmp_path: Path) -> None:
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    sha = modelscope.add_repo("org/tiny", tiny_models["random"], extra_files={"pytorch_model.bin": b"\x80\x04pickle"})
    path = fetch(modelscope, "org/tiny", tmp_path / "cache")
    assert path == tmp_path / "cache" / "modelscope" / "org--tiny" / sha
    assert (path / "config.json").read_bytes() == (tiny_models["random"] / "config.json").read_bytes()
    assert not (path / "pytorch_model.bin").exists() and "pytorch_model.bin" not in fetched(modelscope)
    assert "README.md" not in fetched(modelscope)  # only what loading needs
    assert modelscope.bytes_sent["model.safetensors"] == (tiny_models["random"] / "model.safetensors").stat().st_size
    runner = TransformersRunner(str(path), device="cpu")
    assert runner.model.config.model_type == "llama"
    runner.close()
    modelscope.requests.clear()
    assert fetch(modelscope, "org/tiny", tmp_path / "cache") == path
    assert modelscope.requests == []  # a complete snapshot is used without asking ModelScope


@pytest.mark.parametrize(("shape", "words"), [
    ("decoy", "Only pickle weights are loadable (pytorch_model.bin)"),
    ("index_to_pickles", "lists shards that are not safetensors"),
])
def test_pickle_weights_are_refused_before_any_weight_is_fetched(modelscope: ModelScopeStub, ms_hostile,
                                                                 tmp_path: Path, shape: str, words: str) -> None:
    repo = ms_hostile[shape]
    sha = modelscope.repos[repo].branches["master"].sha
    with pytest.raises(ModelFetchError, match=rf"modelscope:{repo}@{sha[:12]} is not evaluated: .*{re.escape(words)}"):
        fetch(modelscope, repo, tmp_path / "cache")
    assert not {n for n in fetched(modelscope) if n.endswith((".bin", ".safetensors"))}


def test_a_comma_in_a_file_name_cannot_smuggle_a_pickle_in(modelscope: ModelScopeStub, tiny_models,
                                                           tmp_path: Path) -> None:
    """The client splits allow_patterns at commas: 'pytorch_model.bin,x.json' would name the pickle."""
    modelscope.add_repo("org/comma", tiny_models["random"], extra_files={
        "pytorch_model.bin": b"\x80\x04pickle", "pytorch_model.bin,x.json": "{}"})
    path = fetch(modelscope, "org/comma", tmp_path / "cache")
    assert (path / "model.safetensors").is_file()
    assert not {n for n in fetched(modelscope) if n.startswith("pytorch_model.bin")}


def test_oversize_and_full_cache_are_refused_before_downloading(modelscope: ModelScopeStub, tiny_models,
                                                                tmp_path: Path) -> None:
    modelscope.add_repo("org/tiny", tiny_models["random"])
    cache = tmp_path / "cache"
    with pytest.raises(DiskSpaceError, match=r"not enough space in the model cache: the model needs \d+ KB"):
        fetch(modelscope, "org/tiny", cache, quota_gb=100 / 1e6)
    assert not list(cache.rglob("*.safetensors")) and "model.safetensors" not in fetched(modelscope)
    with pytest.raises(DiskSpaceError, match="not enough free disk: the model needs .* plus a margin of 1000000"):
        fetch_model("org/tiny", modelscope.repos["org/tiny"].branches["master"].sha, None, cache,
                    min_free_gb=1_000_000, source="modelscope")


def test_remote_code_is_fetched_but_never_run_without_permission(modelscope: ModelScopeStub, ms_hostile,
                                                                 tmp_path: Path) -> None:
    from evaluator.engine.runners.base import ModelLoadError
    from evaluator.engine.runners.transformers_backend import TransformersRunner

    path = fetch(modelscope, ms_hostile["remote_code"], tmp_path / "cache")
    assert (path / "modeling_medcustom.py").is_file()  # an organizer may allow it for this commit
    with pytest.raises(ModelLoadError, match="cannot load model"):  # the module raises SystemExit if imported
        TransformersRunner(str(path), device="cpu", trust_remote_code=False)


def test_modelscope_refusals_become_plain_reasons(modelscope: ModelScopeStub, ms_hostile, tiny_models,
                                                  tmp_path: Path) -> None:
    with pytest.raises(ModelFetchError, match="modelscope:hostile/gated is gated and the platform has not been "
                                              "granted access"):
        fetch(modelscope, ms_hostile["gated"], tmp_path / "cache")
    sha = modelscope.add_repo("org/tiny", tiny_models["random"])
    with pytest.raises(ModelFetchError, match="modelscope:org/gone or its commit .* no longer exists on ModelScope"):
        fetch_model("org/gone", sha, None, tmp_path, min_free_gb=0, source="modelscope")
    url = modelscope.url
    modelscope.stop()
    with pytest.raises(ModelFetchError, match=re.escape(f"could not download modelscope:org/tiny: ModelScope at "
                                                        f"{url} could not be reached")):
        fetch_model("org/tiny", sha, None, tmp_path, min_free_gb=0, source="modelscope")


def test_submitted_modelscope_model_is_evaluated_by_the_worker(engine, modelscope: ModelScopeStub,
                                                              tiny_models) -> None:
    from evaluator.ops.worker import Worker
    from submissions.accounts import create_user
    from submissions.intake import submit_model
    from tests.worker.factories import add_suite, demo_items, run_row, runs_of, worker_settings

    add_suite(engine, demo_items("Med-Exam", 2) + demo_items("DrugCA", 1))
    modelscope.add_repo("org/letter-a", tiny_models["letter_a"])
    user = create_user("mei", "amber falcon 77")
    out = submit_model(user.id, hub_id="modelscope:org/letter-a", revision="", precision="float32",
                       model_type="chat", use_chat_template=True, contact="mei@example.cn")
    assert out.status == "accepted", out.message
    worker = Worker(engine, worker_settings())
    worker.drain()
    (run,) = runs_of(engine, out.submission_id)
    assert run.status == "finished", run.error_detail
    assert f"fetching modelscope:org/letter-a@{run.run_spec['revision'][:12]}" in run.log
    assert run.run_spec["source"] == "modelscope" and run.run_spec["model"] == "org/letter-a"
    assert "model.safetensors" in fetched(modelscope) and "pytorch_model.bin" not in fetched(modelscope)
    assert run_row(engine, run.id).progress_done == run_row(engine, run.id).progress_total > 0
