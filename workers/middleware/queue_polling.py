"""How a worker reads its queue: how often when idle (QUEUE_POLL_INTERVAL), and how much at once."""

from __future__ import annotations

import logging

from dramatiq import Broker, Middleware, Worker

from contract.dramatiq_internals import set_poll_interval, set_prefetch

logger = logging.getLogger(__name__)


class QueuePolling(Middleware):
    """Bounds how long an idle worker waits between looks at its queue.

    Dramatiq's Redis consumer backs off up to its worker timeout (1 s by default) while the queue is
    empty, so a request arriving at an idle worker waited up to a second before it started.
    """

    def __init__(self, interval_seconds: float) -> None:
        self.interval_ms = max(1, round(interval_seconds * 1000))

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        set_poll_interval(worker, self.interval_ms)
        # No more than it has threads for: what waits is left in Redis, in fair order, for whichever worker
        # frees a slot first (contract/fair_queue.py).
        set_prefetch(worker, worker.worker_threads)
