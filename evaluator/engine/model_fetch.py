"""Getting a run's model onto local disk: a demo folder as is, a hub or ModelScope model at its pinned commit after
a disk check.

Only what the model loads is downloaded: the weights ``submissions.weights.plan_weights`` picks (the same decision
intake measured: safetensors only) and the small files beside them (``download_patterns``, the ``allow_patterns`` of
every ``snapshot_download`` here). A pickle in the repository is never fetched, so it can never be loaded; a
repository whose loadable weights are pickles is refused before anything is downloaded.

Why check first: a 15B model is ~30 GB; discovering a full disk halfway through a download leaves a half-written
cache and a confusing error. The check uses the hub's own file metadata (``snapshot_download(dry_run=True)`` lists
each file's size and whether it is cached), the free space of the cache's file system (``shutil.disk_usage``) and,
when ``model_cache_quota_gb`` is set, a cap on the cache's total size (how operators share a disk, and how the
tests make "disk full" happen with a tiny quota).

ModelScope models (``source`` "modelscope") are fetched the same way through the ``modelscope`` client's
``snapshot_download`` with the same allow-list (``submissions.modelscope.allow_patterns``), sizes from its file
listing. They are downloaded into ``<cache>/modelscope/<org>--<name>/<commit>.incomplete`` and renamed to
``<commit>`` once every file arrived, so a folder under its commit's name is complete and is used without asking
ModelScope again; an interrupted download resumes (the client skips the files already there).
"""
from __future__ import annotations

import errno
import fnmatch
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx2
from huggingface_hub import get_cached_repo_tree, snapshot_download
from huggingface_hub.errors import (
    CachedRepoTreeNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from modelscope_hub.errors import APIError, AuthenticationError, NotExistError, PermissionDeniedError

from common.display import GB, KB
from submissions import modelscope as ms
from submissions.hub import fetch_json_file, fetch_model_info, hub_endpoint, hub_problem, hub_token
from submissions.weights import WeightsError, download_patterns, plan_weights

MODELSCOPE_TIMEOUT_S = 60.0  # the worker waits on ModelScope's listing and JSON files longer than a submitter does
MODELSCOPE_ATTEMPTS = 3


class ModelFetchError(RuntimeError):
    """The model could not be made available; the message is a plain reason fit for the Queue page."""


class DiskSpaceError(ModelFetchError):
    """Not enough disk (or cache quota) for the model; nothing was downloaded."""


@dataclass(frozen=True)
class DiskNeed:
    """What a download needs: bytes still to fetch, and how many files that is."""

    bytes_to_download: int
    files_to_download: int


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / GB:.2f} GB" if n_bytes >= GB / 100 else f"{n_bytes / KB:.0f} KB"


def folder_size(path: Path) -> int:
    """Total bytes of the files under ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def allowed_files(hub_id: str, commit_sha: str, cache_dir: Path, files: list[str], *,
                  local_only: bool = False) -> list[str]:
    """The ``allow_patterns`` of ``hub_id@commit_sha`` holding ``files``: its small JSON files (config, index) are
    read into ``cache_dir`` (``local_only``: from there only). Raises WeightsError when no safe weights load."""
    def read_json(name: str) -> dict:
        return fetch_json_file(hub_id, commit_sha, name, cache_dir, local_only=local_only)

    return download_patterns(files, plan_weights(files, read_json))


def download_need(hub_id: str, commit_sha: str, cache_dir: Path, allow_patterns: list[str]) -> DiskNeed:
    """Bytes of the ``allow_patterns`` files of ``hub_id@commit_sha`` not yet in ``cache_dir`` (hub metadata)."""
    infos = snapshot_download(hub_id, revision=commit_sha, cache_dir=cache_dir, endpoint=hub_endpoint(),
                              token=hub_token() or False, dry_run=True, allow_patterns=allow_patterns)
    missing = [info for info in infos if info.will_download]
    return DiskNeed(sum(info.file_size or 0 for info in missing), len(missing))


def check_disk_space(cache_dir: Path, need: DiskNeed, *, min_free_gb: float, quota_gb: float) -> None:
    """Raise DiskSpaceError when ``need`` does not fit: free disk beyond the margin, and the cache quota."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    if quota_gb > 0:
        used = folder_size(cache_dir)
        if used + need.bytes_to_download > quota_gb * GB:
            raise DiskSpaceError(
                f"not enough space in the model cache: the model needs {_gb(need.bytes_to_download)}, the cache "
                f"quota is {_gb(quota_gb * GB)} and {_gb(used)} are in use"
            )
    free = shutil.disk_usage(cache_dir).free
    margin = min_free_gb * GB
    if free < need.bytes_to_download + margin:
        raise DiskSpaceError(
            f"not enough free disk: the model needs {_gb(need.bytes_to_download)} plus a margin of "
            f"{_gb(margin)}, and {_gb(free)} are free"
        )


def _plain_hub_error(hub_id: str, commit_sha: str, exc: Exception) -> str:
    if isinstance(exc, GatedRepoError):
        return f"{hub_id} is gated and the platform has not been granted access"
    if isinstance(exc, RepositoryNotFoundError):
        return f"{hub_id} no longer exists on the hub (or was made private)"
    if isinstance(exc, RevisionNotFoundError):
        return f"commit {commit_sha[:12]} of {hub_id} no longer exists on the hub"
    return f"could not download {hub_id} from the hub: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"


def _cached_snapshot(hub_id: str, commit_sha: str, cache_dir: Path) -> Path | None:
    """The complete cached snapshot (the allow-listed files of the cached tree listing), without any hub call."""
    try:
        files = [entry.path for entry in get_cached_repo_tree(hub_id, revision=commit_sha, cache_dir=cache_dir)]
        patterns = allowed_files(hub_id, commit_sha, cache_dir, files, local_only=True)
        return Path(snapshot_download(hub_id, revision=commit_sha, cache_dir=cache_dir, local_files_only=True,
                                      allow_patterns=patterns))
    except (CachedRepoTreeNotFoundError, LocalEntryNotFoundError, WeightsError, ValueError, OSError):
        return None  # not (fully) cached, or never downloaded by this code: ask the hub


def fetch_model(hub_id: str, commit_sha: str, local_path: str | None, cache_dir: Path, *, min_free_gb: float,
                quota_gb: float = 0.0, source: str = "hf") -> Path:
    """The local folder of the model: ``local_path`` when given (demo and offline models), else the snapshot of
    ``commit_sha`` on its ``source`` (the hub, or ModelScope) in ``cache_dir``, downloaded after the disk check when
    not cached yet."""
    if local_path:
        folder = Path(local_path)
        if not (folder / "config.json").is_file():
            raise ModelFetchError(f"the model folder {folder} is missing or has no config.json")
        return folder
    if source == "modelscope":
        return fetch_modelscope(hub_id, commit_sha, cache_dir, min_free_gb=min_free_gb, quota_gb=quota_gb)
    cached = _cached_snapshot(hub_id, commit_sha, cache_dir)
    if cached is not None:
        return cached
    try:
        # model_info first: it raises the hub's precise errors (repo gone, commit gone, gated), which a dry run
        # folds into one vague "cannot be accessed"
        files = [s.rfilename for s in fetch_model_info(hub_id, commit_sha).siblings or []]
        patterns = allowed_files(hub_id, commit_sha, cache_dir, files)
        check_disk_space(cache_dir, download_need(hub_id, commit_sha, cache_dir, patterns), min_free_gb=min_free_gb,
                         quota_gb=quota_gb)
        return Path(snapshot_download(hub_id, revision=commit_sha, cache_dir=cache_dir, endpoint=hub_endpoint(),
                                      token=hub_token() or False, allow_patterns=patterns))
    except WeightsError as exc:
        raise ModelFetchError(f"{hub_id}@{commit_sha[:12]} is not evaluated: {exc}") from exc
    except DiskSpaceError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskSpaceError(f"the disk filled up while downloading {hub_id}") from exc
        if isinstance(exc, HfHubHTTPError):
            raise ModelFetchError(_plain_hub_error(hub_id, commit_sha, exc)) from exc
        raise ModelFetchError(f"could not download {hub_id}: {exc.strerror or exc}") from exc
    except httpx2.TransportError as exc:  # connection refused, timeouts: in words
        raise ModelFetchError(f"could not download {hub_id}: {hub_problem(exc)} ({hub_endpoint()})") from exc
    except Exception as exc:  # the HTTP client's other errors have no common hub type
        raise ModelFetchError(_plain_hub_error(hub_id, commit_sha, exc)) from exc


def modelscope_folder(repo_id: str, commit_sha: str, cache_dir: Path) -> Path:
    """Where the complete ModelScope snapshot of ``repo_id@commit_sha`` lives (see the module docstring)."""
    return cache_dir / "modelscope" / repo_id.replace("/", "--") / commit_sha


def fetch_modelscope(repo_id: str, commit_sha: str, cache_dir: Path, *, min_free_gb: float,
                     quota_gb: float = 0.0) -> Path:
    """The ModelScope model ``repo_id`` at ``commit_sha``: only the files intake judged (safetensors weights and
    the small files beside them), downloaded by the ``modelscope`` client after the disk check."""
    folder = modelscope_folder(repo_id, commit_sha, cache_dir)
    if folder.is_dir():
        return folder
    staging = folder.with_name(f"{commit_sha}.incomplete")
    shown = ms.display_id(repo_id)
    try:
        api = ms.client(timeout=MODELSCOPE_TIMEOUT_S, attempts=MODELSCOPE_ATTEMPTS)
        _, sizes = ms.list_files(api, repo_id, commit_sha)
        plan = plan_weights(sizes, lambda name: ms.read_json(api, repo_id, commit_sha, name))
        patterns = ms.allow_patterns(sizes, plan)
        wanted = {name: size for name, size in sizes.items() if any(fnmatch.fnmatch(name, p) for p in patterns)}
        missing = {name: size for name, size in wanted.items()
                   if not ((staging / name).is_file() and (staging / name).stat().st_size == size)}
        check_disk_space(cache_dir, DiskNeed(sum(missing.values()), len(missing)), min_free_gb=min_free_gb,
                         quota_gb=quota_gb)
        from modelscope.hub.snapshot_download import snapshot_download  # the modelscope package imports torch

        snapshot_download(repo_id, revision=commit_sha, local_dir=str(staging), allow_patterns=patterns,
                          endpoint=ms.modelscope_endpoint(), token=ms.modelscope_token())
        absent = sorted(name for name in wanted if not (staging / name).is_file())
        if absent:
            raise ModelFetchError(f"{shown}@{commit_sha[:12]}: ModelScope did not deliver {', '.join(absent[:3])}")
        staging.rename(folder)
        return folder
    except WeightsError as exc:
        raise ModelFetchError(f"{shown}@{commit_sha[:12]} is not evaluated: {exc}") from exc
    except (ModelFetchError, DiskSpaceError):
        raise
    except NotExistError as exc:
        raise ModelFetchError(f"{shown} or its commit {commit_sha[:12]} no longer exists on ModelScope (or was made "
                              "private)") from exc
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise ModelFetchError(f"{shown} is gated and the platform has not been granted access") from exc
    except (APIError, ms.ModelScopeAnswer) as exc:
        raise ModelFetchError(f"could not download {shown}: {ms.answered_problem(shown, exc)}") from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskSpaceError(f"the disk filled up while downloading {shown}") from exc
        raise ModelFetchError(f"could not download {shown}: {ms.modelscope_problem(exc)}") from exc
    except Exception as exc:  # the client's download errors (FileDownloadError, integrity) have no common type
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFetchError(f"could not download {shown} from ModelScope: {first[:300]}") from exc
