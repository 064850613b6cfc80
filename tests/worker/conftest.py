"""Fixtures of the worker tests: the hub stand-in on 127.0.0.1 (real huggingface_hub client, no patching)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.hub_stub import HubStub, serve_hub


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    yield from serve_hub(monkeypatch)
