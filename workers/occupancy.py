"""How many requests this worker is running, by lane: interactive ones (the queue Dramatiq serves) and batch
lines (the offline lane). Interactive requests are never held back here: Dramatiq runs as many as the batch
holds (MAX_BATCH_SIZE threads). A batch line starts only while both lanes together leave room in that batch,
and at most OFFLINE_SLOTS at once, so offline work fills what interactive traffic leaves and no more."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Occupancy:
    def __init__(self, batch_size: int, offline_slots: int) -> None:
        self.batch_size = batch_size
        self.offline_slots = offline_slots
        self.interactive = 0
        self.offline = 0
        self.changed = threading.Condition()

    def wait_for_room(self, seconds: float) -> bool:
        """Waits up to `seconds` for a batch line to be allowed to start; True when it is."""
        with self.changed:
            return self.changed.wait_for(self._has_room, seconds)

    def free(self) -> int:
        """Slots of the batch that no request of either lane holds."""
        with self.changed:
            return max(0, self.batch_size - self.interactive - self.offline)

    def _has_room(self) -> bool:
        return self.offline < self.offline_slots and self.interactive + self.offline < self.batch_size

    @contextmanager
    def running(self, lane: str) -> Iterator[None]:
        with self.changed:
            setattr(self, lane, getattr(self, lane) + 1)
        try:
            yield
        finally:
            with self.changed:
                setattr(self, lane, getattr(self, lane) - 1)
                self.changed.notify_all()
