"""Talking to the Hugging Face hub: the endpoint, read at call time, short timeouts, failures in words.

The endpoint is one setting, ``MEDBENCH_HUB_ENDPOINT`` (a mirror, e.g. for deployments in mainland China, where
huggingface.co is usually unreachable), falling back to ``HF_ENDPOINT`` and then huggingface.co. Why read it here:
``huggingface_hub`` reads ``HF_ENDPOINT`` once at import, so a deployment (or a test) that sets it later would
silently talk to huggingface.co. Every call in this project passes ``endpoint=hub_endpoint()`` explicitly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.hf_api import ModelInfo
from huggingface_hub.utils import SafetensorsFileMetadata

from common.settings import get_settings

DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_TIMEOUT_S = 10.0  # a submitter waits on this: fail fast with a clear message rather than hang


def hub_endpoint() -> str:
    """The hub URL in use now: the ``hub_endpoint`` setting, else ``HF_ENDPOINT`` (a mirror, or the test
    stand-in), else huggingface.co."""
    return (get_settings().hub_endpoint.strip() or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_problem(exc: BaseException, timeout: float = HUB_TIMEOUT_S) -> str:
    """A failure to talk to the hub in words (not an exception's name): it timed out, or it could not be reached.
    The cause chain is read too: the hub client wraps transport errors in its own."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (httpx2.TimeoutException, TimeoutError)):
            return f"the model hub did not answer within {timeout:g} s"
        seen = seen.__cause__ or seen.__context__
    return "the model hub could not be reached"


def hub_token() -> str | None:
    """The token the platform uses to read models (``HF_TOKEN``), if any; submitters' tokens are never asked for."""
    return os.environ.get("HF_TOKEN") or None


def fetch_model_info(repo_id: str, revision: str, timeout: float = HUB_TIMEOUT_S) -> ModelInfo:
    """``model_info`` at ``revision``; raises huggingface_hub's own errors (not found, revision, connection)."""
    api = HfApi(endpoint=hub_endpoint(), token=hub_token() or False)
    return api.model_info(repo_id, revision=revision, timeout=timeout)


def fetch_json_file(repo_id: str, commit_sha: str, filename: str, cache_dir: Path,
                    timeout: float = HUB_TIMEOUT_S, *, local_only: bool = False) -> dict[str, Any]:
    """Download one small JSON file of a pinned commit and parse it (ValueError when it is not a JSON object).

    ``local_only``: read it from ``cache_dir`` without any hub call (LocalEntryNotFoundError when not cached)."""
    path = hf_hub_download(repo_id, filename, revision=commit_sha, endpoint=hub_endpoint(), cache_dir=cache_dir,
                           token=hub_token() or False, etag_timeout=timeout, local_files_only=local_only)
    return json_object(Path(path).read_text(encoding="utf-8"), filename)


def json_object(text: str, filename: str) -> dict[str, Any]:
    """``text`` parsed as JSON; ValueError when it is not a JSON object (a config, an index)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{filename} is not a JSON object")
    return data


def fetch_safetensors_header(repo_id: str, commit_sha: str, filename: str,
                             timeout: float = HUB_TIMEOUT_S) -> SafetensorsFileMetadata:
    """The header of one safetensors file (tensor names, dtypes, shapes), read with HTTP range requests: the
    weights themselves are not downloaded. Raises SafetensorsParsingError for a file that is not safetensors."""
    api = HfApi(endpoint=hub_endpoint(), token=hub_token() or False)
    return api.parse_safetensors_file_metadata(repo_id, filename, revision=commit_sha, timeout=timeout)

