"""The worker's settings: the backend's server, the engine, batching, time limits, heartbeats, metrics."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from contract.model_registry import ModelTask
from contract.settings import DEFAULT_WORKER_METRICS_PORT, CommonSettings

from .engine.types import DEFAULT_PREFIX_CACHE_BYTES, EngineKind


class WorkerSettings(CommonSettings):
    model_task: ModelTask = Field(
        "generate", description="generate: text and embeddings; embed: an embedding model (AutoModel), embeddings only"
    )
    ollama_host: str = Field("http://127.0.0.1:11434", pattern=r"^https?://")
    task_time_limit: float = Field(120.0, gt=0.0, description="seconds one task may generate for")
    engine: EngineKind = Field("auto", description="auto: paged on a GPU, batch on CPU")
    kv_cache_memory_fraction: float = Field(0.8, gt=0.0, le=1.0, description="paged engine: share of free memory")
    prefix_cache_bytes: int = Field(
        DEFAULT_PREFIX_CACHE_BYTES,
        ge=0,
        description="prompt key/value blocks kept for reuse (batch engine), in bytes; 0: off in both engines",
    )
    max_batch_size: int = Field(32, ge=1, le=4096, description="requests in flight per worker")
    offline_slots: int = Field(
        8, ge=0, le=4096, description="Batch API lines in flight per worker, started only with room left; 0: none"
    )
    stream_interval: float = Field(
        0.02, ge=0.0, le=5.0, description="seconds of generated text gathered per Redis write; 0: every delta"
    )
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(DEFAULT_WORKER_METRICS_PORT, ge=1, le=65535)
    heartbeat_interval: float = Field(5.0, gt=0.0)
    worker_lost_after: float = Field(15.0, gt=0.0, description="heartbeat silence after which a worker's tasks return")
    queue_poll_interval: float = Field(0.02, ge=0.001, le=10.0, description="idle worker's longest queue poll gap")
    worker_ready_file: str = Field(
        "", description="a file that exists while the model is loaded and tasks are taken (readiness); empty: none"
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> WorkerSettings:
        if self.worker_lost_after < 2 * self.heartbeat_interval:
            raise ValueError("WORKER_LOST_AFTER must be at least twice HEARTBEAT_INTERVAL")
        if not math.isfinite(self.task_time_limit):
            raise ValueError("TASK_TIME_LIMIT must be a finite number of seconds")
        return self

    @property
    def engine_capacity(self) -> int:
        """Interactive requests are never held back by batch lines started before them: the engine takes
        the interactive batch and the offline slots together."""
        return self.max_batch_size + self.offline_slots

    @property
    def heartbeat_ttl(self) -> int:
        return max(2, math.ceil(self.heartbeat_interval * 3))
