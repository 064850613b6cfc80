"""A suite's version: a content hash over its items, stored with every run so that every number can be traced
to the exact questions asked. It ignores file layout, file order, row order and JSON key order: only what the
items say counts, so an exported and re-imported suite keeps its version.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from evaluator.benchmark.items import Item

HASH_SCHEME = "medbench-suite-v1"  # change when the canonical form below changes


def canonical_item(item: Item) -> str:
    """One item as canonical JSON: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(item.model_dump(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def suite_version(items: Iterable[Item]) -> str:
    """SHA-256 (hex, 64 characters) over the canonical items sorted by (task, id)."""
    digest = hashlib.sha256(HASH_SCHEME.encode())
    for item in sorted(items, key=lambda i: (i.task, i.id)):
        digest.update(b"\n" + canonical_item(item).encode())
    return digest.hexdigest()
