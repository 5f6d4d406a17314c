"""One typed settings object for every process, read from the environment, then `.env`, then defaults.

`.env.example` lists every field below with its default; keep the two in step.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_DIR = "models/tiny-random-gpt2"
EngineKind = Literal["auto", "batch", "paged"]


class ConfigurationError(SystemExit):
    """Bad configuration: stops the process at start with a message that names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # Access
    api_keys: str = Field("", description="comma-separated API keys the api accepts")
    api_keys_file: Path | None = Field(
        None, description="more keys, one per line or comma-separated; re-read on change"
    )
    cors_allowed_origins: str = Field("", description="comma-separated origins browsers may call from; empty: none")
    max_queue_length: int = Field(10_000, ge=1, description="waiting requests per model before 503")
    sse_max_seconds: float = Field(3600.0, gt=0.0, description="longest one SSE connection stays open")
    rate_limit_per_minute: int = Field(60, ge=1)
    rate_limit_burst: int = Field(10, ge=1)
    max_request_bytes: int = Field(1_048_576, ge=1024)

    # Where things live
    redis_url: str = Field("redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    log_dir: Path = Path("logs")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    result_ttl: int = Field(86_400, ge=60, description="seconds a task record is kept")

    # The model this process serves (worker) or treats as the default (api)
    model_backend: Literal["transformers", "ollama"] = "transformers"
    model_name: str = Field(DEFAULT_MODEL_DIR, min_length=1, description="hub id or local folder")
    served_model_name: str | None = Field(None, min_length=1, description="public name; derived if unset")
    ollama_host: str = Field("http://127.0.0.1:11434", pattern=r"^https?://")
    ollama_model: str = Field("llama2", min_length=1)

    # Generation
    max_new_tokens: int = Field(512, ge=1, description="max_tokens when a request gives none")
    max_tokens_limit: int = Field(2048, ge=1, description="largest max_tokens a request may ask for")
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    task_time_limit: float = Field(120.0, gt=0.0, description="seconds one task may generate for")
    engine: EngineKind = Field("auto", description="auto: paged on a GPU, batch on CPU")
    kv_cache_memory_fraction: float = Field(0.8, gt=0.0, le=1.0, description="paged engine: share of free memory")

    # Processes
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(2, ge=1)
    api_threads: int = Field(128, ge=1, description="threads per Gunicorn worker; each open stream holds one")
    sse_keepalive_seconds: float = Field(15.0, gt=0.0)
    max_batch_size: int = Field(32, ge=1, le=4096, description="requests in flight per worker")
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(9191, ge=1, le=65535)
    heartbeat_interval: float = Field(5.0, gt=0.0)
    worker_lost_after: float = Field(15.0, gt=0.0, description="heartbeat silence after which a worker's tasks return")
    queue_poll_interval: float = Field(0.02, ge=0.001, le=10.0, description="idle worker's longest queue poll gap")

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.max_new_tokens > self.max_tokens_limit:
            raise ValueError("MAX_NEW_TOKENS must not exceed MAX_TOKENS_LIMIT")
        if self.worker_lost_after < 2 * self.heartbeat_interval:
            raise ValueError("WORKER_LOST_AFTER must be at least twice HEARTBEAT_INTERVAL")
        if not math.isfinite(self.task_time_limit):
            raise ValueError("TASK_TIME_LIMIT must be a finite number of seconds")
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]

    @property
    def model_id(self) -> str:
        """The name clients use for the model, and the queue's name: SERVED_MODEL_NAME, else MODEL_NAME
        (OLLAMA_MODEL with the ollama backend).

        It never depends on the file system, so an api without the model folder agrees with the worker.
        """
        if self.served_model_name:
            return self.served_model_name
        return self.ollama_model if self.model_backend == "ollama" else self.model_name

    @property
    def heartbeat_ttl(self) -> int:
        return max(2, math.ceil(self.heartbeat_interval * 3))


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        variable = "_".join(str(part) for part in item["loc"]).upper()
        # Whole-object errors carry every setting, keys included, as their input: never echo those.
        shown = f" (got {item['input']!r})" if variable and variable != "API_KEYS" else ""
        lines.append(f"  {variable or 'settings'}: {item['msg']}{shown}")
    return "Invalid configuration:\n" + "\n".join(lines)


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Read and validate once per process; exit with a message naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(_describe(error)) from None
