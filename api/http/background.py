"""The one background loop helper. An api process has three jobs that run beside its requests: the event
hub's listener, the batch supervisor and the webhook dispatcher. Each is the only one of its kind in the
process, so it must outlive any failure (Redis away, or a surprise): it is logged and tried again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs `step` forever in a daemon thread, started once by `ensure_running` after Gunicorn forked the
    process (a thread started in the master would not exist in its workers). A step that returns something
    true has more work waiting and runs again at once; otherwise, or when it fails, the loop pauses first."""

    def __init__(self, name: str, step: Callable[[], object], pause: float) -> None:
        self.name = name
        self.step = step
        self.pause = pause
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        if self.thread is not None:
            return
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            busy: object = False
            try:
                busy = self.step()
            except redis.RedisError as error:
                logger.warning("%s: Redis failed (%s); trying again", self.name, error)
            except Exception:
                logger.exception("%s failed; trying again", self.name)
            if not busy:
                time.sleep(self.pause)
