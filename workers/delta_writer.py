"""Generated text on its way to the task's event stream, written for every task of this worker at once.

Each generating task hands its text deltas here; a writer thread sends whatever has gathered every
STREAM_INTERVAL seconds in one Redis pipeline for all tasks: one round trip per interval, not one per
token per task. A task's pieces are joined in order, so the text a client reads is unchanged, only in
fewer, larger deltas (as vLLM's stream interval does). STREAM_INTERVAL=0 writes each delta at once. The
tokens' log-probabilities, when a task asks for them, go out with the next text written after them (the
text of a token can lag it: a stop string or a partial character is held back).

A failed write is handed back to the task it belongs to, at its next delta or flush, as the Redis error
it was: the actor then waits for Redis and generates again, as for any Redis error mid-task.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from contract.task_store import TaskStore

logger = logging.getLogger(__name__)


class DeltaWriter:
    def __init__(self, store: TaskStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self.lock = threading.Lock()
        # Held from taking text until it is written, by the writer thread and by flush/discard: a task's
        # text then reaches Redis in order, and all of it before the task's final event.
        self.writing = threading.Lock()
        self.pending: dict[str, list[str]] = {}
        self.counts: dict[str, dict[str, int]] = {}  # each task's latest token counts, sent with its next text
        self.entries: dict[str, list[dict[str, Any]]] = {}  # each task's logprobs not yet sent with text
        self.failures: dict[str, redis.RedisError] = {}
        self.thread: threading.Thread | None = None

    def count(self, task_id: str, prompt_tokens: int, completion_tokens: int) -> None:
        """The task's token counts so far; they go out with its next text (vLLM's continuous usage)."""
        with self.lock:
            self.counts[task_id] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}

    def logprobs(self, task_id: str, entries: list[dict[str, Any]]) -> None:
        """New tokens' log-probabilities; they go out with the task's next text."""
        with self.lock:
            self.entries.setdefault(task_id, []).extend(entries)

    def add(self, task_id: str, text: str) -> None:
        self._raise_failure(task_id)
        if self.interval <= 0:
            with self.lock:
                usage, entries = self._extras([task_id])
            self.store.append_deltas({task_id: text}, usage, entries)
            return
        with self.lock:
            self.pending.setdefault(task_id, []).append(text)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="delta-writer", daemon=True)
                self.thread.start()

    def flush(self, task_id: str) -> None:
        """Writes what the task has gathered now (before its final event); raises a failed write's error."""
        with self.writing:
            with self.lock:
                pieces = self.pending.pop(task_id, None)
                usage, entries = self._extras([task_id])
            if pieces:
                self.store.append_deltas({task_id: "".join(pieces)}, usage, entries)
        self._raise_failure(task_id)

    def discard(self, task_id: str) -> None:
        """Forgets a task's unwritten text and failure (it starts over, or it has ended)."""
        with self.writing, self.lock:
            self.pending.pop(task_id, None)
            self.failures.pop(task_id, None)
            self._extras([task_id])

    def _extras(self, tasks: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, list[dict[str, Any]]]]:
        """Takes the token counts and logprobs waiting for these tasks' text (the lock held)."""
        usage = {task: self.counts.pop(task) for task in tasks if task in self.counts}
        return usage, {task: self.entries.pop(task) for task in tasks if task in self.entries}

    def _raise_failure(self, task_id: str) -> None:
        with self.lock:
            failure = self.failures.pop(task_id, None)
        if failure is not None:
            raise failure

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self.writing:
                self._write_pending()

    def _write_pending(self) -> None:
        with self.lock:
            batch = {task: "".join(pieces) for task, pieces in self.pending.items()}
            counts, entries = self._extras(list(batch))
            self.pending.clear()
        if not batch:
            return
        try:
            self.store.append_deltas(batch, counts, entries)
        except redis.RedisError as error:
            logger.warning("could not write the text of %d tasks: %s", len(batch), error)
            with self.lock:
                self.failures.update(dict.fromkeys(batch, error))
