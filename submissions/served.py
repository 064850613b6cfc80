"""Organizers add a model served behind an OpenAI-compatible endpoint: a closed model through its vendor's API, or
an open model on the organizers' own vLLM or SGLang. It becomes a ``ModelEntry`` with ``source="api"`` and an
approved submission, which the worker evaluates like any other.

What is stored (``ModelEntry.served``): the endpoint URL, the model name the endpoint reports (``GET /v1/models``),
the *name* of the API key's secret (``MEDBENCH_API_KEY_<NAME>`` or ``api_keys.<name>`` in secrets.toml, read by
``common.settings.served_api_key``), the decoding settings, whether the endpoint returns top log-probs, and the
date. The key itself is never stored, shown, logged or exported. A served model is not pinned to a revision: the
vendor may change it behind the same name, so ``commit_sha`` holds the date it was added (``api-YYYY-MM-DD``) and
the site says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import select

from common.db import session_scope
from common.settings import served_api_key
from common.timeutil import utcnow
from submissions.accounts import require_organizer
from submissions.audit import record_action
from submissions.queue import set_state
from submissions.states import State
from submissions.tables import ModelEntry, Submission, SubmissionEvent

KEY_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")
API_PRECISION = "api"  # ModelEntry.precision of a served model: the weights' precision is not known
NOT_PINNED = "API: not pinned to a revision"  # how the site marks a served model


class ServedModelError(ValueError):
    """A served model cannot be added; the message is one plain line (never the key)."""


class Decoding(BaseModel):
    """Decoding settings sent with every request, and the prices that turn a run's tokens into its cost."""

    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    price_input_per_1m: float = Field(default=0.0, ge=0.0, description="price of 1M prompt tokens")
    price_output_per_1m: float = Field(default=0.0, ge=0.0, description="price of 1M generated tokens")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


@dataclass(frozen=True)
class AddedModel:
    model_id: int
    submission_id: int
    message: str


def check_endpoint(url: str) -> str:
    """The endpoint URL, normalised; ServedModelError for anything but plain http(s) without credentials."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServedModelError("the endpoint must be an http(s) URL, e.g. https://api.example.com/v1")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ServedModelError("the endpoint URL may not carry credentials, a query or a fragment: give the API key "
                               "by name (--key-name)")
    return url


def parse_decoding(values: dict[str, object]) -> Decoding:
    """Decoding settings from a form or the CLI; ServedModelError lists every bad value."""
    try:
        return Decoding(**values)
    except ValidationError as exc:
        raise ServedModelError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


def _plain_text(value: str, what: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit or any(ord(c) < 32 for c in value):
        raise ServedModelError(f"{what} must be 1 to {limit} printable characters")
    return value


def add_served_model(actor_id: int | None, *, endpoint: str, model_name: str, key_name: str | None = None,
                     label: str | None = None, decoding: dict[str, object] | None = None,
                     engine: Engine | None = None) -> AddedModel:
    """Check the endpoint (it must list ``model_name``), then record the model and an approved submission in one
    transaction (audited). ``actor_id=None`` is the CLI. Raises ServedModelError (one line) or NotAuthorized."""
    from evaluator.engine.runners.base import ModelLoadError
    from evaluator.engine.runners.openai_backend import probe_endpoint

    url = check_endpoint(endpoint)
    name = _plain_text(model_name, "the model name")
    label = _plain_text(label or name, "the label")
    settings = parse_decoding(dict(decoding or {}))
    key = None
    if key_name:
        if not KEY_NAME.match(key_name):
            raise ServedModelError("the key name may hold only letters, digits and _ (at most 40)")
        key = served_api_key(key_name)
        if key is None:
            raise ServedModelError(f"no API key named {key_name}: set MEDBENCH_API_KEY_{key_name.upper()} (or "
                                   f"api_keys.{key_name} in secrets.toml) where the site and the worker run")
    try:
        probe = probe_endpoint(url, key, name)
    except ModelLoadError as exc:
        raise ServedModelError(str(exc)) from None
    today = utcnow().date().isoformat()
    with session_scope(engine) as session:
        actor = require_organizer(session, actor_id) if actor_id is not None else None
        sha = f"api-{today}"
        if session.exec(select(ModelEntry).where(ModelEntry.hub_id == label, ModelEntry.commit_sha == sha,
                                                 ModelEntry.precision == API_PRECISION)).first():
            raise ServedModelError(f"{label} was already added today; give another label to add it again")
        served = {"endpoint": url, "model_name": name, "key_name": key_name or None,
                  "decoding": settings.model_dump(), "logprobs": probe.logprobs, "added": today}
        entry = ModelEntry(hub_id=label, source="api", revision="served", commit_sha=sha, precision=API_PRECISION,
                           model_type="api", use_chat_template=True, served=served, card_data={})
        session.add(entry)
        session.flush()
        submission = Submission(model_id=entry.id, submitter_id=actor.id if actor else None)
        session.add(submission)
        session.flush()
        who = actor.username if actor else "CLI"
        session.add(SubmissionEvent(submission_id=submission.id, from_state=None, to_state=State.SUBMITTED,
                                    actor_id=actor.id if actor else None, actor_name=who,
                                    reason="served model added by an organizer"))
        set_state(session, submission, State.APPROVED, actor_name=who, actor_id=actor.id if actor else None,
                  reason="served model added by an organizer")
        record_action(session, actor=actor, action="add_served_model", target_type="model", target_id=entry.id,
                      before={}, after={"label": label, **served}, unattended="CLI")
        session.flush()
        letters = ("returns top log-probs: both protocols" if probe.logprobs
                   else "returns no top log-probs: generate protocol only")
        return AddedModel(entry.id, submission.id,
                          f"Added {label} ({name} at {url}) as submission #{submission.id}, approved; the endpoint "
                          f"{letters}.")
