"""How many requests of one kind one API key has in this process at once (uploads: each may hold up to
BATCH_MAX_FILE_BYTES in memory while it is checked): past the bound, 429, so one key cannot take a process's
memory with many at a time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ApiError

RETRY_AFTER_SECONDS = 5


class InFlight:
    def __init__(self, what: str, most: int, setting: str) -> None:
        self.what, self.most, self.setting = what, most, setting
        self.lock = threading.Lock()
        self.held: Counter[str] = Counter()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self.lock:
            if self.held[key] >= self.most:
                raise ApiError(
                    429,
                    f"Too many {self.what} in progress for this API key ({self.most}, {self.setting}); retry later",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            self.held[key] += 1
        try:
            yield
        finally:
            with self.lock:
                self.held[key] -= 1
                if not self.held[key]:
                    del self.held[key]
