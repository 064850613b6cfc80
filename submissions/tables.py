"""Tables owned by the submissions package: users, remembered sign-ins, failed sign-ins, models, submissions, their
state history, the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Column, Computed, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.columns import created_at_field, json_field, text_field, ts_field


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    # names are unique regardless of case ("Alice" beside "alice" could pass for each other): the database derives
    # this column itself and holds the rule on SQLite and PostgreSQL, even when two sign-ups race
    username_lower: Optional[str] = Field(default=None, sa_column=Column(
        String(64), Computed("lower(username)", persisted=True), unique=True))
    password_hash: Optional[str] = Field(default=None, max_length=255)  # None for OIDC-only accounts
    email: Optional[str] = Field(default=None, max_length=255)
    oidc_subject: Optional[str] = Field(default=None, unique=True, max_length=255)
    is_organizer: bool = Field(default=False)
    created_at: datetime = created_at_field()


class SignInToken(SQLModel, table=True):
    """A remembered local sign-in (submissions.remember): the browser keeps a random token, the server only its
    SHA-256, so a copy of the database signs nobody in. Deleting the row revokes it; deleting the user deletes it."""

    __tablename__ = "sign_in_tokens"
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    credential: str = Field(max_length=64)  # digest of the password hash when issued: a new password revokes it
    created_at: datetime = created_at_field()
    expires_at: datetime = ts_field(nullable=False, index=True)


class SignInFailure(SQLModel, table=True):
    """One failed local sign-in, counted per account and per client (submissions.throttle). Kept in the database
    so the limit holds across app processes and restarts; ``key`` is a SHA-256, so no address is stored."""

    __tablename__ = "sign_in_failures"
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=64)
    at: datetime = ts_field(nullable=False, index=True)


class ModelEntry(SQLModel, table=True):
    """One model at one pinned revision and precision: the unit that is evaluated and ranked."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("hub_id", "commit_sha", "precision", name="uq_model_sha_precision"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    hub_id: str = Field(index=True, max_length=200)  # the model's id on its source; a served model's label
    # where the weights come from: "hf" (the Hugging Face hub or its mirror), "modelscope", or "api" (served behind
    # an OpenAI-compatible endpoint: not pinned to a revision, commit_sha holds the date it was added)
    source: str = Field(default="hf", max_length=16, index=True)
    # api models: endpoint, model_name (as the endpoint reports it), key_name (the secret's name, never the key),
    # decoding settings, logprobs (whether the endpoint returns top log-probs), added (ISO date)
    served: dict[str, Any] = json_field()
    revision: str = Field(default="main", max_length=200)  # as asked for
    commit_sha: str = Field(max_length=64)  # as pinned at submission
    precision: str = Field(default="bfloat16", max_length=16)  # float32 | bfloat16 | float16
    model_type: str = Field(default="chat", max_length=32)  # base | chat | medical | ...
    use_chat_template: bool = Field(default=True)
    params: Optional[int] = Field(default=None, sa_type=BigInteger)  # parameter count from safetensors metadata
    license: Optional[str] = Field(default=None, max_length=100)
    is_demo: bool = Field(default=False)
    local_path: Optional[str] = Field(default=None, max_length=500)  # demo / offline models: no download
    needs_remote_code: bool = Field(default=False)
    allow_remote_code: bool = Field(default=False)  # organizer decision for this pinned SHA
    reasoning: Optional[bool] = Field(default=None)  # organizers: the model thinks (True) or not; None: from template
    hidden: bool = Field(default=False, index=True)
    flag_reason: Optional[str] = text_field(default=None)
    card_data: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()


class Submission(SQLModel, table=True):
    """A request to evaluate a model; its state walks the queue (see submissions.states)."""

    __tablename__ = "submissions"
    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="models.id", index=True)
    submitter_id: Optional[int] = Field(default=None, foreign_key="users.id", index=True)
    contact: Optional[str] = Field(default=None, max_length=255)
    state: str = Field(default="submitted", index=True, max_length=16)
    reason: Optional[str] = text_field(default=None)
    priority: int = Field(default=0)
    created_at: datetime = created_at_field()
    updated_at: Optional[datetime] = ts_field()


class SubmissionEvent(SQLModel, table=True):
    """Every state change of a submission: who, when, why."""

    __tablename__ = "submission_events"
    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    from_state: Optional[str] = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor_id: Optional[int] = Field(default=None, foreign_key="users.id")
    actor_name: str = Field(default="system", max_length=64)
    reason: Optional[str] = text_field(default=None)
    at: datetime = created_at_field()


class AuditLog(SQLModel, table=True):
    """Every organizer action: who, when, what, before -> after."""

    __tablename__ = "audit_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    actor_id: Optional[int] = Field(default=None, foreign_key="users.id", index=True)
    actor_name: str = Field(default="system", max_length=64)
    action: str = Field(index=True, max_length=64)
    target_type: str = Field(max_length=32)
    target_id: Optional[int] = Field(default=None)
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()
    at: datetime = created_at_field()
