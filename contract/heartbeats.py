"""Worker heartbeats: each worker says what it serves, with an expiry, so readers see only live ones."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis

from .names import HEARTBEAT_KEY_PATTERN, heartbeat_key


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    models: list[str]
    """the models this worker serves (consumes the queues of); the first is its configured one"""
    backend: str
    loaded: bool
    capacity: int
    hostname: str
    pid: int
    updated_at: float


def publish(client: redis.Redis, beat: Heartbeat, ttl_seconds: int) -> None:
    client.set(heartbeat_key(beat.worker_id), json.dumps(asdict(beat)), ex=ttl_seconds)


def withdraw(client: redis.Redis, worker_id: str) -> None:
    client.delete(heartbeat_key(worker_id))


def live(client: redis.Redis) -> list[Heartbeat]:
    keys = list(client.scan_iter(match=HEARTBEAT_KEY_PATTERN, count=500))
    if not keys:
        return []
    values: list[str | None] = client.mget(keys)  # type: ignore[assignment]
    # A key may expire between SCAN and MGET; those come back as None.
    return [Heartbeat(**json.loads(value)) for value in values if value]


def loaded_models(beats: list[Heartbeat]) -> list[str]:
    return sorted({model for beat in beats if beat.loaded for model in beat.models})
