"""The operator's settings, from the environment (the chart sets them), validated at start."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contract.redis_url import RedisUrl
from contract.settings import DEFAULT_WORKER_METRICS_PORT, describe


class OperatorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPERATOR_", extra="ignore")

    redis_url: RedisUrl = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    name_prefix: str = Field("llm-service", min_length=1, max_length=40, description="worker Deployments' prefix")
    worker_image: str = Field("ghcr.io/llm-inference-service/worker:1.0.0", min_length=1)
    worker_template: dict[str, Any] = Field(default_factory=dict, description="JSON: labels, env, envFrom, ...")
    allowed_images: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated image prefixes an LLMModel's spec.image may name"
    )
    scale_interval: float = Field(10.0, gt=0.0, description="seconds between queue-depth checks")
    republish_interval: float = Field(
        30.0, gt=0.0, description="seconds between re-reading models' and tenants' key Secrets (a rotated key)"
    )
    metrics_port: int = Field(9200, ge=0, le=65535, description="0: no metrics server")
    worker_metrics_port: int = Field(DEFAULT_WORKER_METRICS_PORT, ge=1, le=65535, description="workers' /metrics")

    @field_validator("worker_template", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("allowed_images", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


@lru_cache(maxsize=1)
def load_config() -> OperatorConfig:
    try:
        return OperatorConfig()
    except ValidationError as error:
        raise SystemExit(describe(error, prefix="OPERATOR_")) from None
