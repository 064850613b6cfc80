"""A Hugging Face hub stand-in served on 127.0.0.1, so tests run the REAL ``huggingface_hub`` client offline.

Why: the hub is unreachable from CI, and patched functions would test nothing. This server speaks the few routes
``huggingface_hub`` 2.4 uses for model metadata and downloads, with the same status codes and ``X-Error-Code``
headers as huggingface.co, so ``HfApi.model_info``, ``hf_hub_download`` and ``snapshot_download`` run their own
code paths (error mapping, ETag/commit headers, cache layout) against it.

Routes (``{rev}`` is a branch such as ``main`` or a 40-hex commit SHA, URL-quoted by the client):

- ``GET /api/models/{repo_id}`` and ``/api/models/{repo_id}/revision/{rev}``: id, sha, siblings, safetensors
  {parameters, total}, cardData (from README.md front matter), gated, private, config, tags.
- ``GET /api/models/{repo_id}/tree/{rev}[/{path}]``: the file list (``RepoFile`` / ``RepoFolder`` entries).
- ``HEAD`` / ``GET /{repo_id}/resolve/{rev}/{path}``: the file, with ``X-Repo-Commit``, ``ETag``, ``Content-Length``;
  a ``Range: bytes=a-b`` request gets ``206`` and those bytes only (how ``parse_safetensors_file_metadata`` reads a
  header without the weights). :attr:`HubStub.bytes_sent` counts the body bytes sent per path.

Errors as on the hub: unknown repo 404 ``RepoNotFound``; private repo without its token 401 ``RepoNotFound``
(the hub does not reveal that it exists); gated repo: metadata is public, files answer 401 ``GatedRepo`` without
a token and 403 ``GatedRepo`` with a token that was not granted; unknown revision 404 ``RevisionNotFound``;
missing file 404 ``EntryNotFound``.

IMPORTANT: ``huggingface_hub`` reads ``HF_ENDPOINT`` once, when it is imported. Code under test must therefore
pass ``endpoint=`` explicitly, read from the environment at call time (``submissions.hub.hub_endpoint()``), e.g.
``snapshot_download(repo_id, revision=sha, endpoint=hub_endpoint(), cache_dir=...)``. :func:`serve_hub` sets
``HF_ENDPOINT`` for the duration of a test.

Usage from any test package::

    from tests.hub_stub import HubStub, serve_hub

    @pytest.fixture
    def hub(monkeypatch):
        yield from serve_hub(monkeypatch)

    def test_x(hub, tiny_models):
        sha = hub.add_repo("org/tiny", tiny_models["random"])
        path = snapshot_download("org/tiny", revision=sha, endpoint=hub.url, cache_dir=tmp_path)
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import pytest

FileSource = bytes | str | Path

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_API_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)??)(?:/revision/(?P<rev>[^/]+))?$")
_API_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)?)/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+(?:/[^/]+)?)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


@dataclass
class StubRevision:
    """One commit of a stub repo: its files (path -> bytes) and the SHA that pins it."""

    sha: str
    files: dict[str, bytes]


@dataclass
class StubRepo:
    repo_id: str
    gated: bool
    private: bool
    token: str | None
    branches: dict[str, StubRevision] = field(default_factory=dict)

    def resolve(self, rev: str) -> StubRevision | None:
        if rev in self.branches:
            return self.branches[rev]
        return next((r for r in self.branches.values() if r.sha == rev), None)


class HubError(Exception):
    """An error answer: status, the hub's X-Error-Code, a message, and optionally the commit it concerns."""

    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


def _read_source(source: FileSource) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, Path):
        return source.read_bytes()
    return source.encode("utf-8")


def safetensors_parameters(data: bytes) -> dict[str, int]:
    """Parameter counts per dtype from a safetensors header (what the hub shows as ``safetensors.parameters``)."""
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    counts: dict[str, int] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for dim in meta["shape"]:
            n *= dim
        counts[meta["dtype"]] = counts.get(meta["dtype"], 0) + n
    return counts


def header_only_safetensors(tensors: Mapping[str, tuple[str, list[int]]]) -> bytes:
    """A safetensors file's header alone, for tensors ``name -> (dtype, shape)``: what a 140 GB shard looks like to a
    header reader (``parse_safetensors_file_metadata``), without serving 140 GB. Loading it fails (no data)."""
    sizes = {"BF16": 2, "F16": 2, "F32": 4, "I8": 1, "U8": 1, "I32": 4, "I64": 8, "F64": 8}
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for dim in shape:
            n *= dim
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def _card_data(files: Mapping[str, bytes]) -> dict[str, Any] | None:
    readme = files.get("README.md")
    if readme is None:
        return None
    from huggingface_hub import RepoCard

    return RepoCard(readme.decode("utf-8"), ignore_metadata_errors=True).data.to_dict() or None


class HubStub:
    """The running stand-in: register repos with :meth:`add_repo`, point clients at :attr:`url`."""

    default_branch = "main"

    def __init__(self) -> None:
        self.repos: dict[str, StubRepo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self.bytes_sent: dict[str, int] = {}  # file path (as requested) -> body bytes sent, ranges included
        self.outage_status: int | None = None  # set e.g. to 503: every request answers it (a hub having trouble)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()  # open keep-alive connections, closed by stop()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls) -> "HubStub":
        """Create a stub and serve it on a free port of 127.0.0.1 in a daemon thread."""
        stub = cls()
        handler = type("BoundHandler", (cls.handler_base(),), {"stub": stub})
        stub._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        stub._server.daemon_threads = True
        stub._thread = threading.Thread(target=stub._server.serve_forever, name="hub-stub", daemon=True)
        stub._thread.start()
        return stub

    @staticmethod
    def handler_base() -> type["_Handler"]:
        """The request handler a subclass serves instead (the ModelScope stand-in speaks other routes)."""
        return _Handler

    @property
    def url(self) -> str:
        assert self._server is not None, "HubStub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving; afterwards the URL refuses connections (a way to test an unreachable hub).

        Open keep-alive connections are cut too, else a client's pooled connection would still be answered."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def add_repo(
        self,
        repo_id: str,
        folder: Path | str | None = None,
        *,
        gated: bool = False,
        private: bool = False,
        token: str | None = None,
        extra_files: Mapping[str, FileSource] | None = None,
        exclude: tuple[str, ...] = (),
        card: str | None = None,
        revision: str | None = None,
        sha: str | None = None,
    ) -> str:
        """Publish ``folder`` (plus ``extra_files``, minus files matching ``exclude`` globs) as ``repo_id``.

        ``card`` replaces README.md (the model card; its YAML front matter becomes ``cardData``); an oversize
        model is a :func:`header_only_safetensors` file among ``extra_files``. ``token`` is the bearer token that opens a private or gated repo.
        Adding again with another ``revision`` adds a branch (default: :attr:`default_branch`). Returns the commit SHA,
        fixed by the content.
        """
        revision = revision or self.default_branch
        files: dict[str, bytes] = {}
        if folder is not None:
            root = Path(folder)
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                files[path.relative_to(root).as_posix()] = path.read_bytes()
        for name, source in (extra_files or {}).items():
            files[name] = _read_source(source)
        if card is not None:
            files["README.md"] = card.encode("utf-8")
        files = {n: b for n, b in files.items() if not any(fnmatch.fnmatch(n, pat) for pat in exclude)}
        if sha is None:
            digest = hashlib.sha1(repo_id.encode())
            for name in sorted(files):
                digest.update(name.encode() + b"\0" + hashlib.sha1(files[name]).digest())
            digest.update(json.dumps([gated, private, revision], sort_keys=True).encode())
            sha = digest.hexdigest()
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                repo = self.repos[repo_id] = StubRepo(repo_id, gated, private, token)
            repo.branches[revision] = StubRevision(sha=sha, files=files)
        return sha

    # ---- what the routes answer (pure functions of the registered repos) ----

    def _lookup(self, repo_id: str, auth: str | None) -> tuple[StubRepo | None, bool]:
        """The repo ``repo_id`` names (case-insensitively, as both hubs match ids) and whether ``auth`` unlocks it."""
        repo = self.repos.get(repo_id) or next((r for k, r in self.repos.items() if k.lower() == repo_id.lower()),
                                               None)
        return repo, repo is not None and repo.token is not None and auth == f"Bearer {repo.token}"

    def _repo(self, repo_id: str, auth: str | None, *, files: bool) -> StubRepo:
        # like the hub, ids match case-insensitively and answers carry the canonical spelling
        repo, granted = self._lookup(repo_id, auth)
        if repo is None or (repo.private and not granted):
            status = 404 if (repo is not None and auth) or repo is None else 401
            raise HubError(status, "RepoNotFound", "Repository not found")
        if files and repo.gated and not granted:
            status = 403 if auth else 401
            raise HubError(status, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access to it "
                                                "and be authenticated to access it. Please log in.")
        return repo

    @staticmethod
    def _revision(repo: StubRepo, rev: str) -> StubRevision:
        found = repo.resolve(rev)
        if found is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return found

    def model_info_json(self, repo: StubRepo, rev: StubRevision) -> dict[str, Any]:
        files = rev.files
        weights = {n: b for n, b in files.items() if n.endswith(".safetensors")}
        safetensors: dict[str, Any] | None = None
        if weights:
            counts: dict[str, int] = {}
            for data in weights.values():
                for dtype, n in safetensors_parameters(data).items():
                    counts[dtype] = counts.get(dtype, 0) + n
            safetensors = {"parameters": counts, "total": sum(counts.values())}
        config: dict[str, Any] = {}
        if "config.json" in files:
            raw = json.loads(files["config.json"])
            config = {k: raw[k] for k in ("architectures", "model_type", "auto_map") if k in raw}
        if "tokenizer_config.json" in files:
            tok = json.loads(files["tokenizer_config.json"])
            config["tokenizer_config"] = {k: tok[k] for k in ("chat_template", "eos_token", "pad_token") if k in tok}
        if "chat_template.jinja" in files:  # transformers >= 4.43 saves the template beside tokenizer_config.json
            config["chat_template_jinja"] = files["chat_template.jinja"].decode("utf-8")
        card = _card_data(files)
        info: dict[str, Any] = {
            "_id": repo.repo_id,
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": rev.sha,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "tags": ["transformers", "safetensors"] if weights else ["transformers"],
            "library_name": "transformers",
            "config": config,
            "siblings": [{"rfilename": n} for n in sorted(files)],
        }
        if card is not None:
            info["cardData"] = card
        if safetensors is not None:
            info["safetensors"] = safetensors
        return info

    def tree_json(self, rev: StubRevision, path: str | None, recursive: bool) -> list[dict[str, Any]]:
        prefix = f"{path.strip('/')}/" if path else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, data in sorted(rev.files.items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                entries.setdefault(folder, {"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(),
                                            "size": 0, "path": folder})
                if not recursive:
                    break
            if recursive or len(parts) == 1:
                entries[name] = {"type": "file", "oid": _git_blob_sha(data), "size": len(data), "path": name}
        return list(entries.values())


def _git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    stub: HubStub
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.stub._lock:
            self.stub._connections.add(self.connection)

    def finish(self) -> None:
        with self.stub._lock:
            self.stub._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet: tests read stub.requests)
        return

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    def _dispatch(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        self.stub.requests.append((self.command, path))
        auth = self.headers.get("Authorization")
        try:
            if self.stub.outage_status is not None:
                raise HubError(self.stub.outage_status, None, "The hub is having trouble; try again later.")
            if m := _RESOLVE.match(path):
                self._send_file(m["repo"], unquote(m["rev"]), unquote(m["path"]), auth, head)
            elif m := _API_TREE.match(path):
                repo = self.stub._repo(m["repo"], auth, files=False)
                rev = self.stub._revision(repo, unquote(m["rev"]))
                recursive = "recursive=true" in query.lower() or "recursive=1" in query
                entries = self.stub.tree_json(rev, unquote(m["path"]) if m["path"] else None, recursive)
                self._send_json(entries, head)
            elif m := _API_INFO.match(path):
                repo = self.stub._repo(m["repo"], auth, files=False)
                rev = self.stub._revision(repo, unquote(m["rev"]) if m["rev"] else "main")
                self._send_json(self.stub.model_info_json(repo, rev), head)
            else:
                raise HubError(404, None, f"Sorry, we can't find the page you are looking for: {path}")
        except HubError as err:
            self._send_error(err, head)

    def _send_file(self, repo_id: str, rev_name: str, name: str, auth: str | None, head: bool) -> None:
        repo = self.stub._repo(repo_id, auth, files=True)
        rev = self.stub._revision(repo, rev_name)
        data = rev.files.get(name)
        if data is None:
            raise HubError(404, "EntryNotFound", f"{name} does not exist on \"{rev_name}\"", commit=rev.sha)
        self._send_bytes(data, urlsplit(self.path).path, head, {"ETag": f'"{_git_blob_sha(data)}"',
                                                                "X-Repo-Commit": rev.sha})

    def _send_bytes(self, data: bytes, counted_as: str, head: bool, headers: Mapping[str, str]) -> None:
        """A file's bytes, or the bytes of a ``Range: bytes=a-b`` request (206); counted in ``bytes_sent``."""
        size = len(data)
        wanted = _RANGE.match(self.headers.get("Range", "").strip())
        if wanted and not head:
            start = int(wanted["start"])
            end = min(int(wanted["end"]) if wanted["end"] else size - 1, size - 1)
            data = data[start:end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(data) - 1}/{size}")
        else:
            self.send_response(200)
        with self.stub._lock:
            self.stub.bytes_sent[counted_as] = self.stub.bytes_sent.get(counted_as, 0) + (0 if head else len(data))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _send_json(self, payload: Any, head: bool, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_error(self, err: HubError, head: bool) -> None:
        body = json.dumps({"error": err.message}).encode()
        self.send_response(err.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if err.code:
            self.send_header("X-Error-Code", err.code)
        self.send_header("X-Error-Message", err.message)
        if err.commit:
            self.send_header("X-Repo-Commit", err.commit)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def serve_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    """Body of a ``hub`` fixture: start a stub, set ``HF_ENDPOINT`` to it (and no token), stop it afterwards.

    Wrap it in your package's conftest: ``@pytest.fixture def hub(monkeypatch): yield from serve_hub(monkeypatch)``.
    """
    stub = HubStub.start()
    monkeypatch.setenv("HF_ENDPOINT", stub.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        yield stub
    finally:
        stub.stop()
