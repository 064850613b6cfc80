"""Fixtures of the submissions tests: the hub stand-in on 127.0.0.1 (HF_ENDPOINT points at it)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.hub_stub import HubStub, serve_hub


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStub]:
    yield from serve_hub(monkeypatch)
