"""How many requests a model has in Redis: waiting in its Dramatiq queue, and taken by workers."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .dramatiq_internals import in_flight, waiting


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    in_flight: int

    @property
    def total(self) -> int:
        return self.waiting + self.in_flight


def queue_depth(client: redis.Redis, model_id: str) -> QueueDepth:
    return QueueDepth(waiting(client, model_id), in_flight(client, model_id))
