"""Writes a file once the worker consumes its queue: the readiness probe of a worker pod."""

from __future__ import annotations

import logging
from pathlib import Path

from dramatiq import Broker, Middleware, Worker

logger = logging.getLogger(__name__)


class ReadyFile(Middleware):
    """A file that exists from the moment the worker takes tasks until it starts shutting down.

    The pod's readiness probe tests for it: the model has loaded (the broker module loads it before any
    worker boots), and a draining worker stops being Ready at once.
    """

    def __init__(self, path: str) -> None:
        """Make it before the model loads: a file left by the container's previous life (a restart keeps
        the pod's /tmp volume) would call the pod Ready while the model is still loading."""
        self.path = Path(path)
        self.path.unlink(missing_ok=True)

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self.path.unlink(missing_ok=True)
