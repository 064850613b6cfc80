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

ModelScope models (``check_modelscope``, through the real ``modelscope`` client: ``submissions.modelscope``) get the
same checks: each source reads its facts into a :class:`RepoView` (files, card, small JSON files, shard headers of
the pinned commit) and :func:`judge_repo` judges it, so the rules exist once.

The result lists every check with a plain message, so the Submit page can show all of them at once.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    SafetensorsParsingError,
)
from huggingface_hub.utils import SafetensorsFileMetadata
from modelscope_hub.errors import APIError, AuthenticationError, NotExistError, PermissionDeniedError

from common.settings import get_settings
from submissions import modelscope as ms
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
    source: str = "hf"  # ModelEntry.source: "hf" or "modelscope"
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
        return f"{self.display_id}@{self.revision} pinned to {self.commit_sha}: all checks passed.{held}"

    @property
    def display_id(self) -> str:
        """The model as a submitter names it: ``org/name`` on the hub, ``modelscope:org/name`` on ModelScope."""
        return ms.display_id(self.hub_id) if self.source == "modelscope" else self.hub_id

    def add(self, name: str, passed: bool, message: str) -> None:
        self.checks.append(CheckOutcome(name, passed, message))


@dataclass(frozen=True)
class RepoView:
    """One model at its pinned commit, as the checks read it, whichever source it comes from: the file names, the
    card's YAML header, and readers for a small JSON file and a safetensors shard's header of that commit. The
    hub and ModelScope each build one; :func:`judge_repo` applies the same rules to both."""

    repo_id: str
    commit_sha: str
    files: frozenset[str]
    card: dict[str, Any] | None  # README.md's YAML header ({} when it has none); None when there is no README.md
    read_json: Callable[[str], dict[str, Any]]  # ValueError for a file that is not a JSON object
    read_header: Callable[[str], SafetensorsFileMetadata]  # SafetensorsParsingError for a file that is not one
    declared_license: str | None = None  # the source's own licence field (ModelScope's), when the card names none


def _unreachable(result: HubCheckResult, exc: BaseException, where: str | None = None) -> HubCheckResult:
    """The check could not finish because the source could not be reached: said once, in words."""
    problem = ms.modelscope_problem(exc) if result.source == "modelscope" else hub_problem(exc).replace(
        "the model hub", f"the model hub at {hub_endpoint()}", 1)
    result.checks = [c for c in result.checks if c.name in ("exists", "access")]
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
    if not _check_access(result, info.private, info.gated, hub_token() is not None,
                         f"access requests: {info.gated}"):
        return result
    sha = info.sha or revision
    with tempfile.TemporaryDirectory(prefix="medbench-hubcheck-") as tmp:
        card = (info.card_data.to_dict() if info.card_data is not None else {})
        files = frozenset(s.rfilename for s in info.siblings or [])
        view = RepoView(repo_id=info.id, commit_sha=sha, files=files, card=card if "README.md" in files else None,
                        read_json=lambda name: fetch_json_file(info.id, sha, name, Path(tmp)),
                        read_header=lambda name: fetch_safetensors_header(info.id, sha, name))
        try:
            judge_repo(result, view, limit_b=limit_b, use_chat_template=use_chat_template)
        except GatedRepoError:
            _refuse_access(result, f"{hub_id} is gated and this platform has not been granted access; the "
                                   "evaluator cannot download it.")
        except (httpx2.TransportError, OSError) as exc:  # incl. LocalEntryNotFoundError: download failed
            return _unreachable(result, exc)
    return result


def check_modelscope(repo_id: str, revision: str = ms.DEFAULT_BRANCH, *, use_chat_template: bool = True,
                     max_params_b: float | None = None) -> HubCheckResult:
    """Every check of :func:`check_validity`, for the ModelScope model ``repo_id`` (``org/name``) at ``revision``,
    through the real ``modelscope`` client (``submissions.modelscope``); never raises for ModelScope's answers."""
    limit_b = get_settings().max_params_b if max_params_b is None else max_params_b
    result = HubCheckResult(hub_id=repo_id, revision=revision, source="modelscope")
    shown = ms.display_id(repo_id)
    api = ms.client()
    try:
        repo = ms.fetch_repo(api, repo_id, revision)
    except NotExistError as exc:
        missing_revision = "/repo/files" in str(getattr(exc, "url", "") or "")
        result.add("exists", False, f"The model {shown} has no revision '{revision}' (branch, tag or commit)."
                   if missing_revision else f"The model {shown} was not found on ModelScope. Check the spelling; "
                   "private models cannot be evaluated.")
        return result
    except (AuthenticationError, PermissionDeniedError):
        return _refuse_access(result, f"{shown} is private or gated: the evaluator cannot download it.")
    except (APIError, ms.ModelScopeAnswer) as exc:
        result.add("exists", False, f"{ms.answered_problem(shown, exc)}. Nothing was submitted; please try again "
                                    "later.")
        return result
    except ValueError as exc:  # no commit named: nothing can be pinned
        result.add("exists", False, f"{exc}.")
        return result
    except OSError as exc:  # the client's NetworkError (a ConnectionError), timeouts included
        return _unreachable(result, exc)
    result.commit_sha, result.hub_id = repo.commit_sha, repo.repo_id
    result.add("exists", True, f"{shown}@{revision} exists (commit {repo.commit_sha}).")
    if not _check_access(result, repo.private, repo.gated, bool(ms.modelscope_token()), "access must be requested"):
        return result
    sha = repo.commit_sha
    with tempfile.TemporaryDirectory(prefix="medbench-mscheck-") as tmp:
        try:
            card = ms.read_card(api, repo.repo_id, sha) if "README.md" in repo.files else None
            view = RepoView(repo_id=repo.repo_id, commit_sha=sha, files=frozenset(repo.files), card=card,
                            read_json=lambda name: ms.read_json(api, repo.repo_id, sha, name),
                            read_header=lambda name: ms.read_safetensors_header(api, repo.repo_id, sha, name,
                                                                                Path(tmp)),
                            declared_license=repo.license)
            judge_repo(result, view, limit_b=limit_b, use_chat_template=use_chat_template)
        except (AuthenticationError, PermissionDeniedError):
            _refuse_access(result, f"{shown} is gated and this platform has not been granted access; the evaluator "
                                   "cannot download it.")
        except (APIError, ms.ModelScopeAnswer) as exc:
            result.checks = [c for c in result.checks if c.name in ("exists", "access")]
            result.add("hub", False, f"{ms.answered_problem(shown, exc)}. Nothing was submitted; please try again "
                                     "later.")
        except OSError as exc:
            return _unreachable(result, exc)
    return result


def _check_access(result: HubCheckResult, private: bool, gated: object, have_token: bool, gate: str) -> bool:
    shown = result.display_id
    if private:
        result.add("access", False, f"{shown} is private: the evaluator cannot download it. Make it public to "
                                    "submit it.")
        return False
    if gated and not have_token:
        result.add("access", False, f"{shown} is gated ({gate}): the evaluator cannot download it. Remove the gate "
                                    "or ask the organizers.")
        return False
    result.add("access", True, "Public." if not gated else "Gated, and this platform's token has access.")
    return True


def _refuse_access(result: HubCheckResult, message: str) -> HubCheckResult:
    result.checks = [c for c in result.checks if c.name == "exists"]
    result.add("access", False, message)
    return result


def judge_repo(result: HubCheckResult, view: RepoView, *, limit_b: float, use_chat_template: bool) -> None:
    """The checks of a model's content, the same for every source: weights and size, card and licence, config,
    tokenizer and chat template, remote code. The readers' transport errors propagate to the caller."""
    _check_weights(result, view, limit_b)
    _check_card(result, view)
    _check_config_and_tokenizer(result, view, use_chat_template)


def _check_weights(result: HubCheckResult, view: RepoView, limit_b: float) -> None:
    """Judge the weights transformers will load (``submissions.weights``) and count their parameters from the
    shards' own headers: a source's aggregate metadata may count files that are never loaded (a decoy)."""
    try:
        plan = plan_weights(view.files, view.read_json)
    except WeightsError as exc:
        result.add("weights", False, str(exc))
        return
    try:
        with ThreadPoolExecutor(max_workers=HEADER_THREADS) as pool:
            headers = dict(zip(plan.shards, pool.map(view.read_header, plan.shards)))
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


def _check_card(result: HubCheckResult, view: RepoView) -> None:
    if view.card is None:
        result.add("card", False, "No model card (README.md). Add one that states the license.")
        return
    card = view.card
    result.card_data = {key: card[key] for key in CARD_KEYS if card.get(key) is not None}
    result.card_data[FACTS_KEY] = card_facts(card, view.repo_id)  # context length added from config.json below
    license_ = card.get("license") or view.declared_license
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


def _check_config_and_tokenizer(result: HubCheckResult, view: RepoView, use_chat_template: bool) -> None:
    files = view.files
    config: dict[str, Any] | None = None
    if "config.json" not in files:
        result.add("config", False, "No config.json: transformers cannot load this model.")
    else:
        try:
            config = view.read_json("config.json")
        except (ValueError, UnicodeDecodeError) as exc:
            result.add("config", False, f"config.json cannot be read: {exc}.")
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
            tokenizer_config = view.read_json("tokenizer_config.json")
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
