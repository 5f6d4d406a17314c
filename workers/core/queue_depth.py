"""How many requests a model has in Redis: waiting in its Dramatiq queue, and taken by workers."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .contracts import DRAMATIQ_NAMESPACE, queue_name


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    in_flight: int


def waiting(client: redis.Redis, model_id: str) -> int:
    """Messages in the model's Dramatiq queue that no worker has taken yet."""
    return int(client.llen(f"{DRAMATIQ_NAMESPACE}:{queue_name(model_id)}"))  # type: ignore[arg-type]


def queue_depth(client: redis.Redis, model_id: str) -> QueueDepth:
    # Each worker keeps the messages it took but has not acknowledged in a set of its own.
    ack_sets = list(client.scan_iter(match=f"{DRAMATIQ_NAMESPACE}:__acks__.*.{queue_name(model_id)}", count=500))
    in_flight = sum(int(client.scard(key)) for key in ack_sets)  # type: ignore[arg-type]
    return QueueDepth(waiting(client, model_id), in_flight)
