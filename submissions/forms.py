"""What a submitter types, validated before anything else happens (pydantic gives one message per bad field)."""
from __future__ import annotations

import re
from typing import Literal

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from submissions.modelscope import DEFAULT_BRANCH as MODELSCOPE_DEFAULT_BRANCH
from submissions.modelscope import PREFIX as MODELSCOPE_PREFIX

PRECISIONS: tuple[str, ...] = ("bfloat16", "float16", "float32")
SOURCES: tuple[str, ...] = ("hf", "modelscope", "api")  # ModelEntry.source: where the model comes from
MODEL_TYPES: dict[str, str] = {
    "base": "base (pretrained only)",
    "chat": "chat / instruction-tuned",
    "medical": "medical fine-tune",
    "merge": "merge / MoE of other models",
    "other": "other",
}
_REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,199}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubmissionForm(BaseModel):
    """One submission request. ``hub_id`` is a hub id (``org/name``) or a ModelScope id (``modelscope:org/name``);
    ``revision`` is a branch, tag or commit (empty: the source's default branch, ``main`` on the hub, ``master`` on
    ModelScope), pinned to a commit SHA by the checks."""

    model_config = ConfigDict(str_strip_whitespace=True, frozen=True)

    hub_id: str = Field(min_length=3, max_length=96 + len(MODELSCOPE_PREFIX))
    revision: str = Field(default="", validate_default=True)
    precision: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    model_type: Literal["base", "chat", "medical", "merge", "other"] = "chat"
    use_chat_template: bool = True
    contact: str = Field(min_length=3, max_length=255)

    @field_validator("hub_id")
    @classmethod
    def _hub_id_is_a_repo_id(cls, value: str) -> str:
        prefix = MODELSCOPE_PREFIX if value.lower().startswith(MODELSCOPE_PREFIX) else ""
        repo_id = value[len(prefix):].strip()
        if repo_id.count("/") != 1:
            raise ValueError(f"give the full model id as '{prefix}organization/model-name'")
        try:
            validate_repo_id(repo_id)  # ModelScope ids follow the same rules
        except HFValidationError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None
        return prefix + repo_id

    @property
    def source(self) -> str:
        """Where the model is read from: ``modelscope`` for ``modelscope:`` ids, else ``hf``."""
        return "modelscope" if self.hub_id.startswith(MODELSCOPE_PREFIX) else "hf"

    @property
    def repo_id(self) -> str:
        """The id on its source, without the ``modelscope:`` prefix."""
        return self.hub_id.removeprefix(MODELSCOPE_PREFIX)

    @field_validator("revision")
    @classmethod
    def _revision_is_a_ref(cls, value: str, info: ValidationInfo) -> str:
        on_modelscope = str(info.data.get("hub_id") or "").startswith(MODELSCOPE_PREFIX)
        value = value or (MODELSCOPE_DEFAULT_BRANCH if on_modelscope else "main")
        if not _REVISION_RE.match(value) or ".." in value:
            raise ValueError("a branch, tag or commit SHA (letters, digits, '.', '_', '-', '/')")
        return value

    @field_validator("contact")
    @classmethod
    def _contact_is_one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("one line: an e-mail address or a Hugging Face user name")
        if "@" in value and not EMAIL_RE.match(value):
            raise ValueError("not a valid e-mail address")
        return value


class FormError(ValueError):
    """Bad form input; ``problems`` holds one human line per field."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


_FIELD_LABELS = {"hub_id": "Model id", "revision": "Revision", "precision": "Precision", "model_type": "Model type",
                 "use_chat_template": "Chat template", "contact": "Contact"}
_EXPECTED = {"hub_id": "the full model id as 'organization/model-name' (or 'modelscope:organization/model-name')",
             "contact": "an e-mail address or a Hugging Face user name"}


def _problem_text(field: str, error: dict) -> str:
    """Pydantic's message in the submitter's words: an empty field says what to type, not 'at least 3 characters'."""
    if error["type"] == "string_too_short":
        if not str(error.get("input") or "").strip():
            return f"required: give {_EXPECTED.get(field, 'a value')}"
        return f"too short: give {_EXPECTED.get(field, 'a longer value')}"
    if error["type"] == "string_too_long":
        return f"too long (at most {error['ctx']['max_length']} characters)"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_form(**values: object) -> SubmissionForm:
    """Validate raw form values; raise FormError with one line per bad field."""
    try:
        return SubmissionForm(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            problems.append(f"{_FIELD_LABELS.get(field, field)}: {_problem_text(field, dict(error))}")
        raise FormError(problems) from None
