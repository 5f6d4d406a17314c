"""Publishes this worker's models, backend and capacity while it runs (the api's /health and the
operator's scaling read them)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import redis
from dramatiq import Broker, Middleware, Worker

from contract import heartbeats

logger = logging.getLogger(__name__)


class Heartbeats(Middleware):
    """Publishes this worker's model, backend and capacity every interval while the worker runs."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        models: list[str],
        backend: str,
        capacity: int,
        interval: float,
        ttl: int,
        on_beat: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.on_beat = on_beat
        self.interval = interval
        self.ttl = ttl
        self.beat = heartbeats.Heartbeat(
            worker_id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
            models=models,
            backend=backend,
            loaded=True,
            capacity=capacity,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            updated_at=time.time(),
        )
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=self.interval + 1)
        try:
            heartbeats.withdraw(self.client, self.beat.worker_id)
        except redis.RedisError:
            logger.warning("could not withdraw heartbeat; it expires in %ss", self.ttl)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                heartbeats.publish(self.client, replace(self.beat, updated_at=time.time()), self.ttl)
                self.on_beat()
            except redis.RedisError as error:
                logger.warning("heartbeat not published: %s", error)
            self.stopped.wait(self.interval)
