"""How many requests a model has in Redis: waiting (in its fair queue or on its Dramatiq queue), and taken by
workers; and how many Batch API lines, on its offline queue (waiting or taken)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from . import fair_queue
from .dramatiq_internals import in_flight, waiting


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    in_flight: int
    offline: int = 0

    @property
    def total(self) -> int:
        return self.waiting + self.in_flight


def waiting_requests(client: redis.Redis, model_id: str) -> int:
    """Requests of the model that no worker has taken yet, wherever they wait."""
    return fair_queue.staged(client, model_id) + waiting(client, model_id)


def queue_depth(client: redis.Redis, model_id: str) -> QueueDepth:
    offline = waiting(client, model_id, offline=True) + in_flight(client, model_id, offline=True)
    return QueueDepth(waiting_requests(client, model_id), in_flight(client, model_id), offline)
