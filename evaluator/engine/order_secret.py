"""The server's secret behind a private suite's option orders (spec section 8).

Orders depend only on (seed, item key, option keys) (``evaluator.benchmark.permutations``), so with a public seed anyone
holding a private test set's items could precompute every order a run will ask. For a private suite the run's
orders therefore use ``permutation_seed`` = HMAC-SHA256(secret, "<suite version>:<run seed>"), which is stored in
the run spec (for resuming and re-scoring, organizers only; never on a public page) and cannot be predicted
without the secret.

The secret is ``MEDBENCH_PERMUTATION_SECRET``; when it is empty, a random one is generated once into
``<data_dir>/permutation-secret`` (mode 0600; created exclusively, so processes starting together agree on one).
A run keeps the seed it was created with, so processes with different secrets (hosts with their own data dir)
still resume and re-score every run exactly; only the orders of new runs depend on the secret.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from common.settings import get_settings

SECRET_FILE = "permutation-secret"


def _generated(path: Path) -> bytes:
    """The secret in ``path``, writing a fresh random one first if there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_hex(32))
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: delete it to generate a new permutation secret, or set "
                           "MEDBENCH_PERMUTATION_SECRET")
    return value.encode()


def server_secret() -> bytes:
    """The configured secret, else the one generated into the data folder."""
    settings = get_settings()
    configured = settings.permutation_secret.get_secret_value()
    return configured.encode() if configured else _generated(settings.data_dir / SECRET_FILE)


def permutation_seed(suite_version: str, seed: int, secret: bytes | None = None) -> int:
    """The option-order seed of a private suite's run: 63 bits of HMAC-SHA256(secret, "<version>:<seed>")."""
    key = server_secret() if secret is None else secret
    digest = hmac.new(key, f"{suite_version}:{seed}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1
