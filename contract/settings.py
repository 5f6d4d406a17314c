"""Settings every process shares, read from the environment, then `.env`, then defaults.

Each part extends `CommonSettings` with its own fields (api/settings.py, workers/settings.py) and loads
them with `load_settings(ItsSettings)`. `.env.example` lists every field of both with its default; keep
them in step.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .redis_url import RedisUrl

DEFAULT_MODEL_DIR = "models/tiny-random-gpt2"
DEFAULT_WORKER_METRICS_PORT = 9191


class ConfigurationError(SystemExit):
    """Bad configuration: stops the process at start with a message that names the variable."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    # Where things live
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0"
    log_dir: Path = Path("logs")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_max_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="a log file's size at which it is rotated; LOG_BACKUPS are kept"
    )
    log_backups: int = Field(3, ge=1, le=100, description="rotated files kept of each log file")
    result_ttl: int = Field(86_400, ge=60, description="seconds a task record is kept")

    # The model a worker serves, and the one the api treats as the default
    model_backend: Literal["transformers", "ollama"] = "transformers"
    # OLLAMA_MODEL: what users of the ollama backend have always set (docs/api.md); MODEL_NAME wins.
    model_name: str = Field(
        DEFAULT_MODEL_DIR,
        min_length=1,
        validation_alias=AliasChoices("MODEL_NAME", "OLLAMA_MODEL"),
        description="hub id or local folder (transformers), or the pulled model's name (ollama)",
    )
    served_model_name: str | None = Field(None, min_length=1, description="public name; MODEL_NAME if unset")

    @property
    def model_id(self) -> str:
        """The name clients use for the model, and the queue's name: SERVED_MODEL_NAME, else MODEL_NAME.

        It never depends on the file system, so an api without the model folder agrees with the worker.
        """
        return self.served_model_name or self.model_name


S = TypeVar("S", bound=BaseSettings)


def describe(error: ValidationError, prefix: str = "") -> str:
    """One line per bad variable, named as the user sets it."""
    lines = []
    for item in error.errors():
        variable = "_".join(str(part) for part in item["loc"]).upper()
        if variable and not variable.startswith(prefix):
            variable = prefix + variable
        # Whole-object errors carry every setting, keys included, as their input: never echo those.
        shown = f" (got {item['input']!r})" if variable and variable != "API_KEYS" else ""
        lines.append(f"  {variable or 'settings'}: {item['msg']}{shown}")
    return "Invalid configuration:\n" + "\n".join(lines)


@cache
def load_settings(kind: type[S]) -> S:
    """Read and validate once per process; exit with a message naming the bad variable."""
    try:
        return kind()
    except ValidationError as error:
        raise ConfigurationError(describe(error, kind.model_config.get("env_prefix", "").upper())) from None
