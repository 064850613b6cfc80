"""One settings object for the whole product.

Values come from environment variables prefixed ``MEDBENCH_`` (e.g. ``MEDBENCH_DATABASE_URL``), then from the
``[medbench]`` table of ``.streamlit/secrets.toml`` (so a Streamlit deployment keeps its secrets in one file),
then from the defaults below. Every field is documented in README.md's "Settings" table.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


class _SecretsTomlSource(TomlConfigSettingsSource):
    """Reads only the ``[medbench]`` table of ``.streamlit/secrets.toml``."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls, toml_file=SECRETS_FILE)
        self.toml_data = self.toml_data.get("medbench", {}) if isinstance(self.toml_data, dict) else {}

    def __call__(self) -> dict[str, Any]:
        return dict(self.toml_data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDBENCH_", extra="ignore")

    database_url: str = Field(
        default="", description="SQLAlchemy URL. Empty: an SQLite file `medbench.db` in data_dir."
    )
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Where the SQLite file, run exports and logs live.")
    model_cache_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "models", description="Where the worker downloads and builds models."
    )
    # intake limits
    max_params_b: float = Field(default=15.0, gt=0, le=10_000, description="Largest model accepted at submission, in billions of parameters.")
    rate_limit_count: int = Field(default=5, ge=1, description="Submissions allowed per submitter per rate_limit_days.")
    rate_limit_days: int = Field(default=7, ge=1, le=3650, description="Window of the per-submitter rate limit, in days.")
    sign_in_days: int = Field(
        default=14, ge=1, le=3650, description="A local sign-in survives reloads in that browser for this many days."
    )
    # suite imports (organizers)
    import_roots: str = Field(
        default="", description="Comma-separated folders the Suites page's server-folder import may read. Empty: "
        "data_dir/imports and the bundled suites.",
    )
    import_max_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest total size, in bytes, an uploaded or imported .zip may "
        "expand to.",
    )
    import_max_files: int = Field(default=10_000, ge=1, description="Most files an uploaded or imported .zip may hold.")
    permutation_secret: SecretStr = Field(
        default=SecretStr(""), description="Key the option orders of a private suite's runs derive from (HMAC). "
        "Empty: a random key generated once into data_dir/permutation-secret.",
    )
    # worker
    worker_poll_seconds: float = Field(default=5.0, gt=0, le=3600, description="How often the worker looks for approved work.")
    lease_seconds: float = Field(default=60.0, ge=1, le=86_400, description="A run whose heartbeat is older than this is taken over.")
    run_time_limit_s: float = Field(
        default=6 * 3600.0, gt=0, description="A run evaluating longer than this (counted from its claim by a worker) fails."
    )
    min_free_disk_gb: float = Field(default=2.0, ge=0, description="Free disk (beyond the model's size) needed to download.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="'auto', 'cpu' or 'cuda'.")
    worker_order: str = Field(
        default="rerun,small,submitted",
        description="How the worker picks the next run after organizer priority: comma-separated keys among "
        "'rerun' (models evaluated before first), 'small' (fewest parameters first), 'submitted' (oldest first).",
    )
    max_attempts: int = Field(default=3, ge=1, le=100, description="A run whose worker died this many times ends as failed.")
    model_cache_quota_gb: float = Field(
        default=0.0, ge=0, description="Cap on the model cache's total size in GB (0: no cap beyond the free disk)."
    )
    ray_actors: int = Field(
        default=0, ge=0, le=1024,
        description="Spread each run over this many Ray actors (RAY_ADDRESS names the cluster); 0: in the worker process.",
    )
    rescore_interval_s: float = Field(
        default=600.0, gt=0, description="How often the worker re-scores finished runs scored by an older evaluator."
    )
    planner_device: Literal["", "cpu", "h100", "h200", "a100"] = Field(
        default="",
        description="Device profile of the Moderation page's time estimate: 'cpu' (measured on the app's machine), "
        "'h100', 'h200' or 'a100'. Empty: follows device ('cpu' -> cpu, 'cuda' -> h100, 'auto' -> what this "
        "machine has).",
    )
    planner_gpus: int = Field(default=1, ge=1, le=1024, description="GPUs per worker the Moderation page's estimate assumes.")
    # where models come from (README "Where models come from")
    hub_endpoint: str = Field(
        default="", description="The Hugging Face hub (or a mirror) models are checked on and downloaded from. "
        "Empty: HF_ENDPOINT when set, else https://huggingface.co.",
    )
    modelscope_endpoint: str = Field(
        default="", description="The ModelScope site (or a mirror) modelscope:<org>/<name> models are checked on and "
        "downloaded from. Empty: MODELSCOPE_ENDPOINT when set, else https://modelscope.cn.",
    )
    api_concurrency: int = Field(default=8, ge=1, le=256, description="Requests a served (API) model's run keeps in flight at once.")
    api_timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Seconds one request to a served model may take before it is retried.")
    api_max_retries: int = Field(
        default=8, ge=0, le=100, description="Retries of one request to a served model (429, 5xx, timeouts, dropped "
        "connections), with exponential backoff.",
    )
    # demo
    demo_models: bool = Field(default=True, description="On first start with no finished runs, evaluate demo models.")
    demo_hub_model: str = Field(
        default="Qwen/Qwen2.5-0.5B-Instruct", description="Real small model used as a demo where the hub is reachable."
    )
    demo_suite: str = Field(default="demo", description="Name of the bundled suite imported on first start.")
    # about page
    about_operator: str = Field(default="the organizers of this MedBench Leaderboard instance", max_length=300,
                                description="Who runs this leaderboard, as the About page names them.")
    about_contact: str = Field(
        default="", max_length=300,
        description="How to reach the organizers: an e-mail address or an https URL (About page).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SecretsTomlSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'medbench.db').as_posix()}"


class SettingsError(ValueError):
    """A setting breaks its rule (a bound, a choice); the message is one line naming each bad setting by its
    environment variable, so the CLI, the worker and the site can show it instead of a traceback."""


def describe_invalid(error: ValidationError) -> str:
    """``ValidationError`` as one line: ``invalid setting MEDBENCH_X='v': <rule>; ...``."""
    parts = []
    for problem in error.errors():
        name = "MEDBENCH_" + "_".join(str(part) for part in problem["loc"]).upper()
        value = repr(problem.get("input"))
        value = value if len(value) <= 60 else value[:57] + "..."
        parts.append(f"{name}={value}: {problem['msg']}")
    return "invalid setting " + "; ".join(parts)


API_KEY_ENV_PREFIX = "MEDBENCH_API_KEY_"


def served_api_key(name: str) -> str | None:
    """The API key of a served model, referenced by ``name``: ``MEDBENCH_API_KEY_<NAME>``, else ``api_keys.<name>``
    in the ``[medbench]`` table of ``.streamlit/secrets.toml``. Why by name: the key is a server-side secret; the
    database, pages, logs and exports only ever hold the name."""
    value = os.environ.get(API_KEY_ENV_PREFIX + name.upper())
    if value:
        return value
    keys = _SecretsTomlSource(Settings).toml_data.get("api_keys")
    if not isinstance(keys, dict):
        return None
    value = keys.get(name) or keys.get(name.upper()) or keys.get(name.lower())
    return str(value) if value else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the environment.

    Raises SettingsError (one line) when a value breaks its rule."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_invalid(exc)) from None
