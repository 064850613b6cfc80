"""Getting a run's model onto local disk: a demo folder as is, a hub model at its pinned commit after a disk check.

Only what the model loads is downloaded: the weights ``submissions.weights.plan_weights`` picks (the same decision
intake measured: safetensors only) and the small files beside them (``download_patterns``, the ``allow_patterns`` of
every ``snapshot_download`` here). A pickle in the repository is never fetched, so it can never be loaded; a
repository whose loadable weights are pickles is refused before anything is downloaded.

Why check first: a 15B model is ~30 GB; discovering a full disk halfway through a download leaves a half-written
cache and a confusing error. The check uses the hub's own file metadata (``snapshot_download(dry_run=True)`` lists
each file's size and whether it is cached), the free space of the cache's file system (``shutil.disk_usage``) and,
when ``model_cache_quota_gb`` is set, a cap on the cache's total size (how operators share a disk, and how the
tests make "disk full" happen with a tiny quota).
"""
from __future__ import annotations

import errno
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

from common.display import GB, KB
from submissions.hub import fetch_json_file, fetch_model_info, hub_endpoint, hub_problem, hub_token
from submissions.weights import WeightsError, download_patterns, plan_weights


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
                quota_gb: float = 0.0) -> Path:
    """The local folder of the model: ``local_path`` when given (demo and offline models), else the hub snapshot
    of ``commit_sha`` in ``cache_dir``, downloaded after the disk check when not cached yet."""
    if local_path:
        folder = Path(local_path)
        if not (folder / "config.json").is_file():
            raise ModelFetchError(f"the model folder {folder} is missing or has no config.json")
        return folder
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
