"""A daemon thread an api process starts once, after Gunicorn forked it (never before: a thread started in
the master would not exist in its workers)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class BackgroundThread:
    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.target = target
        self.name = name
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        if self.thread is not None:
            return
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.target, name=self.name, daemon=True)
                self.thread.start()
