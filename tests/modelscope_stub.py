"""A ModelScope stand-in served on 127.0.0.1, so tests run the REAL ``modelscope`` client (1.40, whose transport is
``modelscope_hub``) offline, pointed at it through the client's own endpoint setting (``MODELSCOPE_ENDPOINT``, or
``endpoint=`` on each call).

Why: modelscope.cn is unreachable from CI, and patched functions would test nothing. The repos are registered as
in the hub stand-in (:class:`tests.hub_stub.HubStub`, whose ``add_repo`` this reuses: same files, gated, private and
token semantics, content-fixed commit SHAs); only the routes and answers are ModelScope's, those the client calls:

- ``GET /openapi/v1/models/{owner}/{name}``: ``{"success": true, "data": {id, private, gated, license, ...}}``.
- ``GET /api/v1/models/{owner}/{name}``: the legacy model info (``{"Code": 200, "Data": {...}, "Success": true}``).
- ``GET /api/v1/models/{owner}/{name}/repo/files?Revision=R&Recursive=True[&Root=dir]``: ``Data.Files`` (Path,
  Name, Type blob/tree, Size, Sha256, Revision) and ``Data.LatestCommitter.Id``, the commit R points at.
- ``GET``/``HEAD /api/v1/models/{owner}/{name}/repo?Revision=R&FilePath=P``: the file, with ``Range`` support
  (206), as the client's downloads and ranged reads use it. :attr:`ModelScopeStub.bytes_sent` counts body bytes
  per file path.
- ``GET /api/v1/models/{owner}/{name}/revisions``: ``Data.RevisionMap.Branches``.
- anything else (e.g. the client's ``/api/v1/repos/internalAccelerationInfo`` region probe): 404.

Errors as ModelScope answers them: an unknown model, or a private one asked without its token, 404 (the openapi
surface says ``ResourceNotFound``); a gated model's files without a granted token 403 (its metadata is public and
says ``gated: true``); an unknown revision 404; a missing file 404. The default branch is ``master``.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.hub_stub import HubError, HubStub, StubRepo, StubRevision, _Handler

_OPENAPI_MODEL = re.compile(r"^/openapi/v1/models/(?P<repo>[^/]+/[^/]+)$")
_MODEL = re.compile(r"^/api/v1/models/(?P<repo>[^/]+/[^/]+)(?P<rest>/repo/files|/repo|/revisions)?$")
LICENSE = "Apache License 2.0"  # what ModelScope's own licence field holds for the models registered here


class ModelScopeStub(HubStub):
    """The running ModelScope stand-in: register repos with :meth:`add_repo`, point the client at :attr:`url`."""

    default_branch = "master"

    def __init__(self) -> None:
        super().__init__()
        self.licenses: dict[str, str | None] = {}  # repo id -> its licence field, when not LICENSE (None: none)

    @staticmethod
    def handler_base() -> type[_Handler]:
        return _ModelScopeHandler

    def _repo(self, repo_id: str, auth: str | None, *, files: bool) -> StubRepo:
        repo, granted = self._lookup(repo_id, auth)
        if repo is None or (repo.private and not granted):
            raise HubError(404, "ResourceNotFound", f"model {repo_id} not found")
        if files and repo.gated and not granted:
            raise HubError(403, "OperationNotAllowed", f"model {repo_id} is gated: request access on its page")
        return repo

    @staticmethod
    def _revision(repo: StubRepo, rev: str) -> StubRevision:
        found = repo.resolve(rev)
        if found is None:
            raise HubError(404, "ResourceNotFound", f"revision {rev} not found")
        return found

    def model_json(self, repo: StubRepo) -> dict[str, Any]:
        owner, name = repo.repo_id.split("/", 1)
        return {"id": repo.repo_id, "owner": owner, "name": name, "display_name": name, "private": repo.private,
                "gated": repo.gated, "license": self.licenses.get(repo.repo_id, LICENSE), "tags": ["transformers"], "downloads": 0, "likes": 0}

    def files_json(self, rev: StubRevision, root: str | None) -> dict[str, Any]:
        prefix = f"{root.strip('/')}/" if root else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, data in sorted(rev.files.items()):
            if not name.startswith(prefix):
                continue
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder.startswith(prefix):
                    entries.setdefault(folder, {"Name": parts[depth - 1], "Path": folder, "Type": "tree", "Size": 0,
                                                "Revision": rev.sha})
            entries[name] = {"Name": parts[-1], "Path": name, "Type": "blob", "Size": len(data),
                             "Sha256": hashlib.sha256(data).hexdigest(), "IsLFS": name.endswith(".safetensors"),
                             "Revision": rev.sha, "CommittedDate": 1_700_000_000, "Mode": "33188"}
        return {"Files": list(entries.values()),
                "LatestCommitter": {"Id": rev.sha, "ShortId": rev.sha[:8], "Message": "stand-in commit",
                                    "CommitterName": "stub", "CommittedDate": 1_700_000_000}}


class _ModelScopeHandler(_Handler):
    stub: ModelScopeStub

    def _dispatch(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.stub.requests.append((self.command, unquote(self.path)))
        auth = self.headers.get("Authorization")
        try:
            if self.stub.outage_status is not None:
                raise HubError(self.stub.outage_status, None, "ModelScope is having trouble; try again later.")
            if m := _OPENAPI_MODEL.match(path):
                repo = self.stub._repo(unquote(m["repo"]), auth, files=False)
                self._send_json({"success": True, "data": self.stub.model_json(repo)}, head)
            elif m := _MODEL.match(path):
                self._model_route(unquote(m["repo"]), m["rest"], query, auth, head)
            else:
                raise HubError(404, "ResourceNotFound", f"no route {path}")
        except HubError as err:
            if path.startswith("/openapi/"):
                payload: dict[str, Any] = {"success": False, "code": err.code, "message": err.message}
            else:
                payload = {"Code": err.status, "Message": err.message, "Success": False}
            self._send_json(payload, head, status=err.status)

    def _model_route(self, repo_id: str, rest: str | None, query: dict[str, str], auth: str | None,
                     head: bool) -> None:
        repo = self.stub._repo(repo_id, auth, files=rest == "/repo")
        if rest is None:
            self._legacy_json(self.stub.model_json(repo), head)
        elif rest == "/revisions":
            branches = [{"Revision": name, "CreatedAt": 1_700_000_000} for name in repo.branches]
            self._legacy_json({"RevisionMap": {"Branches": branches, "Tags": []}}, head)
        elif rest == "/repo/files":
            rev = self.stub._revision(repo, query.get("Revision") or self.stub.default_branch)
            self._legacy_json(self.stub.files_json(rev, query.get("Root")), head)
        else:
            rev = self.stub._revision(repo, query.get("Revision") or self.stub.default_branch)
            name = query.get("FilePath", "")
            data = rev.files.get(name)
            if data is None:
                raise HubError(404, "ResourceNotFound", f"file {name} not found")
            self._send_bytes(data, name, head, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'})

    def _legacy_json(self, data: Any, head: bool) -> None:
        self._send_json({"Code": 200, "Data": data, "Message": "success", "Success": True}, head)


def serve_modelscope(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelScopeStub]:
    """Body of a ``modelscope`` fixture: start a stand-in, point the client's own endpoint setting
    (``MODELSCOPE_ENDPOINT``) at it, with no token; stop it afterwards."""
    stub = ModelScopeStub.start()
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", stub.url)
    monkeypatch.delenv("MODELSCOPE_API_TOKEN", raising=False)
    try:
        yield stub
    finally:
        stub.stop()
