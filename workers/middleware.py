"""Dramatiq middleware: worker heartbeats, and a final word for tasks whose message ran out of retries."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis
from dramatiq import Broker, Middleware, Worker
from dramatiq.broker import MessageProxy

from contract import heartbeats
from contract.dramatiq_internals import set_poll_interval
from contract.error_kinds import ErrorKind
from contract.task_store import TaskStore

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


class QueuePolling(Middleware):
    """Bounds how long an idle worker waits between looks at its queue.

    Dramatiq's Redis consumer backs off up to its worker timeout (1 s by default) while the queue is
    empty, so a request arriving at an idle worker waited up to a second before it started.
    """

    def __init__(self, interval_seconds: float) -> None:
        self.interval_ms = max(1, round(interval_seconds * 1000))

    def before_worker_boot(self, broker: Broker, worker: Worker) -> None:
        set_poll_interval(worker, self.interval_ms)


class FailExhaustedTasks(Middleware):
    """When Dramatiq gives up on a message, the task it carried ends `failed` instead of staying queued.

    Add it before Retries: after-hooks run in reverse order, so it then sees the message already failed.
    """

    def __init__(self, store: TaskStore) -> None:
        self.store = store

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None or not message.failed or not message.args:
            return
        record = self.store.get(message.args[0])
        if record is None or record.is_final:
            return
        reason = f"gave up after retries: {type(exception).__name__}: {exception}"
        self.store.fail(record, error_type=ErrorKind.WORKER_LOST, error_message=reason)
