"""Hub checks for a submitted model, run with the real ``huggingface_hub`` client and without executing anything.

``check_validity(hub_id, revision, use_chat_template=...)`` answers, for one model at one revision: does it exist
and can the evaluator download it (not gated, not private); which commit SHA the revision is pinned to; which
weights transformers will load (``submissions.weights``: safetensors only, pickles beside them ignored) and how
many parameters they hold, summed over every shard from the safetensors headers (against
``settings.max_params_b``); does the model card carry a license (``license: other`` must name it in
``license_name``); do config.json and tokenizer_config.json parse, and do they need remote code (``auto_map``: the
submission is held for organizer review, not refused); is there a chat template when the submitter asked to use
one. Only small JSON files (config, tokenizer config, the shard index) and the shards' headers are downloaded.
The facts a reader wants (organisation, base model, fine-tuning type, languages, link, context length:
``submissions.model_facts``) are kept in ``card_data["facts"]``.

The result lists every check with a plain message, so the Submit page can show all of them at once.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsParsingError,
)
from huggingface_hub.hf_api import ModelInfo

from common.settings import get_settings
from submissions.model_facts import FACTS_KEY, card_facts, context_length
from submissions.hub import (
    fetch_json_file,
    fetch_model_info,
    fetch_safetensors_header,
    hub_endpoint,
    hub_problem,
    hub_token,
)
from submissions.weights import WeightsError, parameter_count, plan_weights

CARD_KEYS = ("license", "license_name", "license_link", "language", "tags", "base_model", "datasets", "pipeline_tag",
             "library_name")  # what is kept of a card's metadata: enough to review and to show, not the whole YAML
HEADER_THREADS = 8  # shard headers are read in parallel: a 70B model has about 30 shards
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


@dataclass(frozen=True)
class CheckOutcome:
    """One named check: passed or not, and the sentence a submitter reads."""

    name: str
    passed: bool
    message: str


@dataclass
class HubCheckResult:
    """Everything the hub said about one model at one revision, and the verdict of every check."""

    hub_id: str
    revision: str
    commit_sha: str | None = None
    params: int | None = None
    license: str | None = None
    needs_remote_code: bool = False
    has_chat_template: bool = False
    card_data: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]

    @property
    def message(self) -> str:
        """One paragraph: every failed check, or a short summary when all passed."""
        if self.failures:
            return " ".join(c.message for c in self.failures)
        held = " It needs remote code, so an organizer reviews it before it runs." if self.needs_remote_code else ""
        return f"{self.hub_id}@{self.revision} pinned to {self.commit_sha}: all checks passed.{held}"

    def add(self, name: str, passed: bool, message: str) -> None:
        self.checks.append(CheckOutcome(name, passed, message))


def _unreachable(result: HubCheckResult, exc: BaseException) -> HubCheckResult:
    problem = hub_problem(exc).replace("the model hub", f"the model hub at {hub_endpoint()}", 1)
    result.add("hub", False, f"{problem[0].upper()}{problem[1:]}. Nothing was submitted; please try again in a few "
                             "minutes.")
    return result


def check_validity(hub_id: str, revision: str = "main", *, use_chat_template: bool = True,
                   max_params_b: float | None = None) -> HubCheckResult:
    """Run every hub check on ``hub_id`` at ``revision``; never raises for hub answers (see ``result.checks``)."""
    limit_b = get_settings().max_params_b if max_params_b is None else max_params_b
    result = HubCheckResult(hub_id=hub_id, revision=revision)
    try:
        info = fetch_model_info(hub_id, revision)
    except RevisionNotFoundError:
        result.add("exists", False, f"The model {hub_id} has no revision '{revision}' (branch, tag or commit).")
        return result
    except RepositoryNotFoundError:
        result.add("exists", False, f"The model {hub_id} was not found on the hub. Check the spelling; private "
                                    "models cannot be evaluated.")
        return result
    except HfHubHTTPError as exc:  # before OSError: huggingface_hub's HTTP errors are OSErrors too
        status = exc.response.status_code if exc.response is not None else "?"
        result.add("exists", False, f"The hub answered HTTP {status} for {hub_id}. Nothing was submitted; please "
                                    "try again later.")
        return result
    except (httpx2.TransportError, OSError) as exc:
        return _unreachable(result, exc)
    result.commit_sha = info.sha
    result.hub_id = info.id  # the canonical spelling: ids are case-insensitive on the hub, duplicates must be too
    result.add("exists", True, f"{hub_id}@{revision} exists (commit {info.sha}).")
    if not _check_access(result, info):
        return result
    with tempfile.TemporaryDirectory(prefix="medbench-hubcheck-") as tmp:
        try:
            _check_weights(result, info, limit_b, Path(tmp))
            _check_card(result, info)
            _check_config_and_tokenizer(result, info, Path(tmp), use_chat_template)
        except GatedRepoError:
            result.checks = [c for c in result.checks if c.name == "exists"]
            result.add("access", False, f"{hub_id} is gated and this platform has not been granted access; the "
                                        "evaluator cannot download it.")
        except (httpx2.TransportError, OSError) as exc:  # incl. LocalEntryNotFoundError: download failed
            result.checks = [c for c in result.checks if c.name in ("exists", "access")]
            return _unreachable(result, exc)
    return result


def _check_access(result: HubCheckResult, info: ModelInfo) -> bool:
    if info.private:
        result.add("access", False, f"{info.id} is private: the evaluator cannot download it. Make it public to "
                                    "submit it.")
        return False
    if info.gated and hub_token() is None:
        result.add("access", False, f"{info.id} is gated (access requests: {info.gated}): the evaluator cannot "
                                    "download it. Remove the gate or ask the organizers.")
        return False
    result.add("access", True, "Public." if not info.gated else "Gated, and this platform's token has access.")
    return True


def _check_weights(result: HubCheckResult, info: ModelInfo, limit_b: float, cache: Path) -> None:
    """Judge the weights transformers will load (``submissions.weights``) and count their parameters from the
    shards' own headers: the hub's aggregate metadata may count files that are never loaded (a decoy)."""
    files = [s.rfilename for s in info.siblings or []]
    sha = info.sha or result.revision
    try:
        plan = plan_weights(files, lambda name: fetch_json_file(info.id, sha, name, cache))
    except WeightsError as exc:
        result.add("weights", False, str(exc))
        return
    try:
        with ThreadPoolExecutor(max_workers=HEADER_THREADS) as pool:
            headers = dict(zip(plan.shards, pool.map(lambda shard: fetch_safetensors_header(info.id, sha, shard),
                                                     plan.shards)))
        result.params = parameter_count(headers)
    except SafetensorsParsingError as exc:
        result.add("weights", False, f"A weight file is not valid safetensors: {str(exc).splitlines()[0][:300]}")
        return
    except WeightsError as exc:
        result.add("weights", False, str(exc))
        return
    result.add("weights", True, plan.describe())
    billions = result.params / 1e9
    if billions > limit_b:
        result.add("size", False, f"{billions:.2f}B parameters is more than this leaderboard's limit of "
                                  f"{limit_b:g}B.")
    else:
        result.add("size", True, f"{result.params:,} parameters ({billions:.3f}B, limit {limit_b:g}B).")


def _check_card(result: HubCheckResult, info: ModelInfo) -> None:
    files = {s.rfilename for s in info.siblings or []}
    if "README.md" not in files:
        result.add("card", False, "No model card (README.md). Add one that states the license.")
        return
    card = info.card_data.to_dict() if info.card_data is not None else {}
    result.card_data = {key: card[key] for key in CARD_KEYS if card.get(key) is not None}
    result.card_data[FACTS_KEY] = card_facts(card, info.id)  # context length added from config.json below
    license_ = card.get("license")
    if license_ == "other" or (isinstance(license_, list) and "other" in license_):
        if not card.get("license_name"):  # a link alone names nothing a reader of the leaderboard can check
            result.add("card", False, "The model card says 'license: other' but names no licence: add "
                                      "'license_name' (and 'license_link') to the YAML header of README.md.")
            return
        license_ = f"other:{card['license_name']}"
    if not license_:
        result.add("card", False, "The model card has no license in its metadata (add e.g. 'license: apache-2.0' "
                                  "to the YAML header of README.md).")
        return
    result.license = str(license_ if isinstance(license_, str) else ",".join(map(str, license_)))[:100]
    result.add("card", True, f"Model card with license {result.license}.")


def _check_config_and_tokenizer(result: HubCheckResult, info: ModelInfo, cache: Path, use_chat_template: bool) -> None:
    files = {s.rfilename for s in info.siblings or []}
    sha = info.sha or result.revision
    try:
        config = fetch_json_file(info.id, sha, "config.json", cache)
    except RemoteEntryNotFoundError:  # not LocalEntryNotFoundError (a failed download): that is "unreachable"
        result.add("config", False, "No config.json: transformers cannot load this model.")
        config = None
    except (ValueError, UnicodeDecodeError) as exc:
        result.add("config", False, f"config.json cannot be read: {exc}.")
        config = None
    if config is not None:
        if not config.get("model_type") and not config.get("auto_map"):
            result.add("config", False, "config.json has no model_type: transformers cannot tell which "
                                        "architecture to build.")
        else:
            result.add("config", True, f"config.json: model_type {config.get('model_type') or '(custom)'}.")
        if config.get("auto_map"):
            result.needs_remote_code = True
        if FACTS_KEY in result.card_data:
            result.card_data[FACTS_KEY]["context_length"] = context_length(config)
    tokenizer_config: dict[str, Any] = {}
    if "tokenizer_config.json" in files:
        try:
            tokenizer_config = fetch_json_file(info.id, sha, "tokenizer_config.json", cache)
        except (ValueError, UnicodeDecodeError) as exc:
            result.add("tokenizer", False, f"tokenizer_config.json cannot be read: {exc}.")
            return
    if tokenizer_config.get("auto_map"):
        result.needs_remote_code = True
    if not files.intersection(TOKENIZER_FILES):
        result.add("tokenizer", False, "No tokenizer files (tokenizer.json, tokenizer.model or vocab files).")
    else:
        result.add("tokenizer", True, "Tokenizer files present.")
    result.has_chat_template = bool(
        tokenizer_config.get("chat_template")
        or "chat_template.jinja" in files
        or any(f.startswith("chat_templates/") for f in files)
    )
    if use_chat_template and not result.has_chat_template:
        result.add("chat_template", False, "You asked to use the chat template, but the tokenizer has none. Untick "
                                           "'use chat template' for a base model, or add a template.")
    elif use_chat_template:
        result.add("chat_template", True, "Chat template present.")
    if result.needs_remote_code:
        result.add("remote_code", True, "Needs remote code (auto_map): held for organizer review; nothing is run "
                                        "until an organizer allows this exact commit.")
