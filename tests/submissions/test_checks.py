"""Each hub check passes and fails as it should, with its message, against the hub stand-in (real client)."""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.engine.tiny_models import model_info as local_model_info
from submissions.checks import check_validity
from tests.hub_stub import HubStub


def failed(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.name: c.message for c in result.failures}


def test_good_model_passes_every_check_and_pins_the_sha(engine, hub: HubStub, shapes: dict[str, str],
                                                        tiny_models: dict[str, Path]) -> None:
    result = check_validity(shapes["good"], "main", use_chat_template=True)
    assert result.ok, result.message
    assert result.commit_sha == hub.repos[shapes["good"]].branches["main"].sha
    assert result.params == local_model_info(tiny_models["random"])["params"]
    assert result.license == "apache-2.0"
    assert not result.needs_remote_code and result.has_chat_template
    assert {c.name for c in result.checks} == {"exists", "access", "weights", "size", "card", "config", "tokenizer",
                                              "chat_template"}
    assert "all checks passed" in result.message
    # no weights were downloaded to check: small JSON files, and the weights' header through a range request
    weights = (tiny_models["random"] / "model.safetensors").stat().st_size
    sent = {p: n for p, n in hub.bytes_sent.items() if p.endswith(".safetensors")}
    assert list(sent) == [f"/org/good/resolve/{result.commit_sha}/model.safetensors"]
    assert 0 < sent[next(iter(sent))] <= 100_001 < weights


@pytest.mark.parametrize(("shape", "check", "words"), [
    ("gated", "access", "gated"),
    ("pickle_only", "weights", "pickle"),
    ("oversize", "size", "70.60B parameters is more than this leaderboard's limit of 15B"),
    ("no_card", "card", "No model card"),
    ("no_license", "card", "no license"),
    ("no_chat_template", "chat_template", "has none"),
    ("no_config", "config", "No config.json"),
])
def test_bad_shapes_fail_their_check_with_a_clear_message(engine, shapes: dict[str, str], shape: str, check: str,
                                                          words: str) -> None:
    result = check_validity(shapes[shape], "main", use_chat_template=True)
    assert not result.ok
    assert list(failed(result)) == [check]
    assert words in failed(result)[check]
    assert words in result.message


def test_unknown_repo_private_repo_and_unknown_revision(engine, shapes: dict[str, str]) -> None:
    missing = check_validity("org/does-not-exist", "main")
    assert failed(missing) == {"exists": "The model org/does-not-exist was not found on the hub. Check the "
                                         "spelling; private models cannot be evaluated."}
    private = check_validity(shapes["private"], "main")
    assert "not found" in failed(private)["exists"]
    revision = check_validity(shapes["good"], "v9")
    assert failed(revision) == {"exists": "The model org/good has no revision 'v9' (branch, tag or commit)."}


def test_revision_by_sha_and_branch_pin_differently(engine, hub: HubStub, shapes: dict[str, str],
                                                    tiny_models: dict[str, Path]) -> None:
    dev_sha = hub.add_repo(shapes["good"], tiny_models["letter_a"], revision="dev")
    assert check_validity(shapes["good"], "dev").commit_sha == dev_sha
    main_sha = hub.repos[shapes["good"]].branches["main"].sha
    by_sha = check_validity(shapes["good"], main_sha)
    assert by_sha.ok and by_sha.commit_sha == main_sha


def test_remote_code_passes_but_is_flagged_and_nothing_is_executed(engine, shapes: dict[str, str]) -> None:
    result = check_validity(shapes["remote_code"], "main")
    assert result.ok and result.needs_remote_code
    assert "organizer" in result.message
    # the repo's modeling file would raise SystemExit if imported: we only read JSON


def test_base_model_without_template_passes_when_template_not_asked(engine, shapes: dict[str, str]) -> None:
    result = check_validity(shapes["base_no_template"], "main", use_chat_template=False)
    assert result.ok and not result.has_chat_template


def test_size_limit_is_configurable(engine, shapes: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("MEDBENCH_MAX_PARAMS_B", "0.00001")
    get_settings.cache_clear()
    result = check_validity(shapes["good"], "main")
    assert list(failed(result)) == ["size"] and "limit of 1e-05B" in result.message
    monkeypatch.setenv("MEDBENCH_MAX_PARAMS_B", "100")
    get_settings.cache_clear()
    assert check_validity(shapes["oversize"], "main").ok


def test_unreachable_hub_gives_a_clear_message(engine, hub: HubStub, shapes: dict[str, str]) -> None:
    hub.stop()
    result = check_validity(shapes["good"], "main")
    assert not result.ok
    assert "could not be reached" in result.message and "Nothing was submitted" in result.message


def test_hub_errors_are_reported_as_such(engine, hub: HubStub, shapes: dict[str, str]) -> None:
    hub.outage_status = 503
    result = check_validity(shapes["good"], "main")
    assert [c.name for c in result.checks] == ["exists"]
    assert result.message == "The hub answered HTTP 503 for org/good. Nothing was submitted; please try again later."


FACT_CARD = """---
license: apache-2.0
language:
- zh
- en
base_model: Qwen/Qwen2.5-7B-Instruct
base_model_relation: adapter
tags:
- medical
- arxiv:2407.10990
model_creator: 上海人工智能实验室
homepage: javascript:alert(1)
---
# A medical adapter
"""


def test_model_facts_are_read_from_the_card_and_config(engine, hub: HubStub, tiny_models: dict[str, Path]) -> None:
    import json

    config = json.loads((tiny_models["random"] / "config.json").read_text())
    hub.add_repo("org/facts", tiny_models["random"], card=FACT_CARD,
                 extra_files={"config.json": json.dumps({**config, "max_position_embeddings": 32768})})
    result = check_validity("org/facts", "main", use_chat_template=True)
    assert result.ok, result.message
    assert result.card_data["facts"] == {
        "organisation": "上海人工智能实验室", "base_model": ["Qwen/Qwen2.5-7B-Instruct"],
        "finetune": "adapter (LoRA/PEFT)", "languages": ["zh", "en"],
        "link": "https://arxiv.org/abs/2407.10990", "context_length": 32768}


def test_model_facts_keep_only_https_links_and_fall_back_to_the_namespace() -> None:
    from submissions.model_facts import card_facts, https_url

    assert https_url("https://example.org/paper") == "https://example.org/paper"
    for bad in ("javascript:alert(1)", "http://example.org", "https://exa mple.org", "https://a.org/\")x",
                "https://user@evil.org", "https:///nohost", None, 42):
        assert https_url(bad) is None, bad
    facts = card_facts({"homepage": "javascript:alert(1)", "tags": ["lora"], "base_model": "a/b"}, "org/name")
    assert facts["link"] is None and facts["organisation"] == "org" and facts["finetune"] == "adapter (LoRA/PEFT)"
    assert card_facts({}, "org/name") == {"organisation": "org", "base_model": [], "finetune": "", "languages": [],
                                          "link": None, "context_length": None}


def test_hub_failures_are_said_in_words(engine, hub: HubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub that accepts the connection but never answers 'did not answer within N s'; a stopped one 'could not
    be reached' (never an exception class name such as ConnectError)."""
    import socket

    from submissions.hub import fetch_model_info, hub_problem

    stub_url = hub.url
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("HF_ENDPOINT", silent_url)
        with pytest.raises(Exception) as waited:
            fetch_model_info("org/good", "main", timeout=0.5)
        assert hub_problem(waited.value, 0.5) == "the model hub did not answer within 0.5 s"
    hub.stop()
    monkeypatch.setenv("HF_ENDPOINT", stub_url)
    result = check_validity("org/good", "main")
    assert result.message == (f"The model hub at {stub_url} could not be reached. Nothing was submitted; please "
                              "try again in a few minutes.")
