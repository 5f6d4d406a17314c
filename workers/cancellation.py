"""Stopping a generation whose client went away (the api sets the task's cancel field)."""

from __future__ import annotations

import time

from contract.task_store import TaskStore

CANCEL_CHECK_SECONDS = 0.25
CANCELLED_MESSAGE = "the client disconnected before the result"


class TaskCancelled(Exception):
    pass


class CancelCheck:
    """Asks Redis whether the task was cancelled, at most 4 times a second however fast text arrives."""

    def __init__(self, store: TaskStore, task_id: str) -> None:
        self.store = store
        self.task_id = task_id
        self.checked = 0.0

    def raise_if_requested(self) -> None:
        """Raising out of the backend's text callback makes it drop the request from its batch."""
        now = time.monotonic()
        if now - self.checked < CANCEL_CHECK_SECONDS:
            return
        self.checked = now
        if self.store.cancel_requested(self.task_id):
            raise TaskCancelled
