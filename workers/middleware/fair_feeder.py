"""Moves requests from each served model's fair queue onto its Dramatiq queue as this worker has room, so the
fair queue's order (contract/fair_queue.py) is the order in which requests start.

The Dramatiq queue is kept one request longer than this worker's free slots: long enough that a slot freed
is filled without waiting for this loop, short enough that a request arriving from another tenant is at most
one request behind. Workers fetch no more than they have threads for (workers/__main__.py), so nothing moved
here sits unseen in one worker's prefetch while another has room.
"""

from __future__ import annotations

import logging
import threading

import redis
from dramatiq import Broker, Middleware, Worker

from contract import fair_queue

from ..occupancy import Occupancy

logger = logging.getLogger(__name__)
LOOKAHEAD = 1
REDIS_PAUSE_SECONDS = 1.0


class FairFeeder(Middleware):
    def __init__(self, client: redis.Redis, models: list[str], occupancy: Occupancy, interval: float) -> None:
        self.client = client
        self.models = models
        self.occupancy = occupancy
        self.interval = interval
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.thread = threading.Thread(target=self._feed, name="fair-feeder", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Nothing more is moved: what is still waiting stays in Redis for the other workers."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()

    def _feed(self) -> None:
        while not self.stopped.is_set():
            try:
                for model in self.models:
                    fair_queue.promote(self.client, model, self.occupancy.free() + LOOKAHEAD)
            except redis.RedisError:
                logger.warning("fair feeder: Redis unavailable; requests keep waiting there", exc_info=True)
                self.stopped.wait(REDIS_PAUSE_SECONDS)
                continue
            self.stopped.wait(self.interval)
