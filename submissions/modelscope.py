"""Talking to ModelScope (``modelscope:<org>/<name>`` submissions) through the real ``modelscope`` client.

Why a second source: from mainland China huggingface.co is usually unreachable, and Chinese model authors publish
on ModelScope as often as on the hub. What is judged is the same as for the hub (``submissions.checks`` feeds both
into one set of checks); only how the facts are read differs:

- model info (exists, private, gated, its licence field): ``GET /openapi/v1/models/{org}/{name}``;
- the files at a revision, with their sizes, and the commit the revision points at (``Data.LatestCommitter.Id``):
  ``GET /api/v1/models/{org}/{name}/repo/files?Revision=R&Recursive=True``;
- one file of a pinned commit (config, tokenizer config, index, card), or the first bytes of a safetensors shard
  through a ``Range`` request (its header: the weights are not downloaded at intake):
  ``GET /api/v1/models/{org}/{name}/repo?Revision=SHA&FilePath=P``;
- the worker's download: ``modelscope.hub.snapshot_download.snapshot_download`` with the same allow-list as the
  hub's (``submissions.weights.download_patterns``).

Intake talks through the client's ``OpenAPIClient`` (modelscope 1.40 delegates its hub code to ``modelscope_hub``)
built with a 10 s timeout and one attempt: a submitter waits on it, and the client's defaults (60 s, 5 attempts
with backoff) would keep them waiting minutes for an unreachable site. The listing is read through the same
client's ``request`` (its own transport and error mapping), because the client's ``list_repo_files`` drops the
commit id the answer carries.

The endpoint is the ``modelscope_endpoint`` setting, else the client's own ``MODELSCOPE_ENDPOINT``, else
https://modelscope.cn, read at call time and passed explicitly (the client's process-wide default configuration
is built once). The token is ``MODELSCOPE_API_TOKEN`` when the platform has one; submitters' tokens are never asked
for, and without one no stored credential is read either.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import RepoCard, parse_local_safetensors_file_metadata
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import SafetensorsFileMetadata
from modelscope_hub import HubConfig
from modelscope_hub._openapi import OpenAPIClient
from modelscope_hub.errors import APIError

from common.settings import get_settings
from submissions.hub import HUB_TIMEOUT_S, hub_problem, json_object
from submissions.weights import WeightPlan, WeightsError, download_patterns

DEFAULT_ENDPOINT = "https://modelscope.cn"
DEFAULT_BRANCH = "master"  # ModelScope's default branch (the hub's is "main")
PREFIX = "modelscope:"
HEADER_FIRST_BYTES = 100_000  # as huggingface_hub reads a header: most fit, else a second range request
_SHA = re.compile(r"^[0-9a-f]{40}$")


def modelscope_endpoint() -> str:
    """The ModelScope URL in use now: the setting, else ``MODELSCOPE_ENDPOINT`` (a mirror, or the test stand-in),
    else modelscope.cn."""
    return (get_settings().modelscope_endpoint.strip() or os.environ.get("MODELSCOPE_ENDPOINT")
            or DEFAULT_ENDPOINT).rstrip("/")


def modelscope_token() -> str:
    """The platform's ModelScope token (``MODELSCOPE_API_TOKEN``), or "" for none."""
    return os.environ.get("MODELSCOPE_API_TOKEN", "")


def modelscope_problem(exc: BaseException) -> str:
    """A failure to talk to ModelScope in words, naming the endpoint."""
    return hub_problem(exc).replace("the model hub", f"ModelScope at {modelscope_endpoint()}", 1)


def display_id(repo_id: str) -> str:
    """How a ModelScope model is named on this site and in messages: ``modelscope:<org>/<name>``."""
    return f"{PREFIX}{repo_id}"


def client(timeout: float = HUB_TIMEOUT_S, attempts: int = 1) -> OpenAPIClient:
    """The client for one check or download plan: the endpoint and token of now, ``timeout`` s per request,
    ``attempts`` tries (intake: one, a submitter waits; the worker: a few, with the client's backoff)."""
    return OpenAPIClient(HubConfig(endpoint=modelscope_endpoint(), token=modelscope_token()), timeout=timeout,
                         max_retries=attempts)


def allow_patterns(files: Collection[str], plan: WeightPlan) -> list[str]:
    """The worker's ``allow_patterns`` for the modelscope client: :func:`submissions.weights.download_patterns`,
    less what the client cannot name exactly. It splits every pattern at commas, so a file named
    ``pytorch_model.bin,x.json`` would fetch ``pytorch_model.bin``: support files with a comma in their name are left
    out, and weights so named are refused."""
    odd = sorted(name for name in (*plan.shards, plan.index or "") if "," in name)
    if odd:
        raise WeightsError(f"The weight file name {odd[0][:100]!r} has a comma, which the ModelScope client cannot "
                           "download by name. Rename the weights.")
    return [pattern for pattern in download_patterns(files, plan) if "," not in pattern]


class ModelScopeAnswer(RuntimeError):
    """ModelScope answered HTTP 200 with ``Success: false`` (its legacy surface's way of refusing)."""


@dataclass(frozen=True)
class ModelScopeRepo:
    """One model at a pinned commit: its model info, the commit, and every file with its size."""

    repo_id: str
    info: dict[str, Any]
    commit_sha: str
    files: dict[str, int]

    @property
    def gated(self) -> bool:
        return bool(self.info.get("gated"))

    @property
    def private(self) -> bool:
        return bool(self.info.get("private"))

    @property
    def license(self) -> str | None:
        value = self.info.get("license")
        return str(value) if value else None


def _file_url(repo_id: str) -> str:
    return f"{modelscope_endpoint()}/api/v1/models/{repo_id}/repo"


def _legacy_data(answer: Any) -> Any:
    """The ``Data`` of a legacy ``{"Code", "Data", "Success"}`` answer; raises ModelScopeAnswer on a refusal."""
    if isinstance(answer, dict) and answer.get("Success") is False:
        raise ModelScopeAnswer(str(answer.get("Message") or "ModelScope refused the request")[:300])
    return answer.get("Data", answer) if isinstance(answer, dict) else answer


def fetch_info(api: OpenAPIClient, repo_id: str) -> dict[str, Any]:
    """The model's info; raises the client's NotExistError (unknown, or private to others) and transport errors."""
    owner, name = repo_id.split("/", 1)
    data = api.get_model(owner, name)
    return data if isinstance(data, dict) else {}


def list_files(api: OpenAPIClient, repo_id: str, revision: str) -> tuple[str | None, dict[str, int]]:
    """The commit ``revision`` points at (None when ModelScope does not say) and its files -> sizes."""
    response = api.request("GET", url=f"{modelscope_endpoint()}/api/v1/models/{repo_id}/repo/files",
                           params={"Revision": revision, "Recursive": "True"}, require_token=False, unwrap=False)
    data = _legacy_data(response.json())
    entries = data.get("Files") or [] if isinstance(data, dict) else []
    files = {str(e.get("Path")): int(e.get("Size") or 0) for e in entries
             if isinstance(e, dict) and e.get("Path") and (e.get("Type") or "blob") != "tree"}
    committer = data.get("LatestCommitter") if isinstance(data, dict) else None
    commit = str(committer.get("Id") or "").lower() if isinstance(committer, dict) else ""
    return (commit if _SHA.match(commit) else None), files


def fetch_repo(api: OpenAPIClient, repo_id: str, revision: str) -> ModelScopeRepo:
    """Model info and the pinned file listing of ``repo_id@revision``. A revision that is already a commit id
    stays that commit. Raises the client's errors; ValueError when ModelScope does not name the commit."""
    info = fetch_info(api, repo_id)
    commit, files = list_files(api, repo_id, revision)
    if _SHA.match(revision.lower()):
        commit = revision.lower()
    if commit is None:
        raise ValueError(f"ModelScope did not say which commit revision '{revision}' of {repo_id} is; give the "
                         "commit id as the revision")
    canonical = info.get("id") if isinstance(info.get("id"), str) and "/" in info["id"] else repo_id
    return ModelScopeRepo(repo_id=canonical, info=info, commit_sha=commit, files=files)


def read_file(api: OpenAPIClient, repo_id: str, commit_sha: str, name: str, *, first_bytes: int | None = None,
              offset: int = 0) -> bytes:
    """One file of a pinned commit, or ``first_bytes`` of it from ``offset`` (a Range request)."""
    headers = {"Range": f"bytes={offset}-{offset + first_bytes - 1}"} if first_bytes else None
    response = api.request("GET", url=_file_url(repo_id), params={"Revision": commit_sha, "FilePath": name},
                           headers=headers, require_token=False, unwrap=False)
    return response.content


def read_json(api: OpenAPIClient, repo_id: str, commit_sha: str, name: str) -> dict[str, Any]:
    """A small JSON file of a pinned commit (ValueError when it is not a JSON object)."""
    return json_object(read_file(api, repo_id, commit_sha, name).decode("utf-8"), name)


def read_card(api: OpenAPIClient, repo_id: str, commit_sha: str) -> dict[str, Any]:
    """The YAML header of README.md (ModelScope cards use the hub's format), as a dict."""
    text = read_file(api, repo_id, commit_sha, "README.md").decode("utf-8", errors="replace")
    return RepoCard(text, ignore_metadata_errors=True).data.to_dict()


def read_safetensors_header(api: OpenAPIClient, repo_id: str, commit_sha: str, name: str,
                            scratch: Path) -> SafetensorsFileMetadata:
    """The header of one safetensors shard, read with Range requests and parsed by huggingface_hub's own parser
    (the same limits and SafetensorsParsingError as for the hub); the header's bytes pass through ``scratch``."""
    data = read_file(api, repo_id, commit_sha, name, first_bytes=HEADER_FIRST_BYTES)
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    if len(data) - 8 < size <= hf_constants.SAFETENSORS_MAX_HEADER_LENGTH:  # a bigger one is refused by the parser
        data = data[:8] + read_file(api, repo_id, commit_sha, name, first_bytes=size, offset=8)
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".safetensors", delete=False) as handle:
        handle.write(data)
    try:
        return parse_local_safetensors_file_metadata(handle.name)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def answered_problem(repo_id: str, exc: APIError | ModelScopeAnswer) -> str:
    """An answer other than the expected ones, in words."""
    status = getattr(exc, "status_code", None)
    said = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"ModelScope answered {'HTTP ' + str(status) if status else 'with a refusal'} for {repo_id}: {said}"
