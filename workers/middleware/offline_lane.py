"""The offline lane: Batch API lines, taken from each served model's offline queue and run by the same task
code on the same engine as interactive requests, only with the room those leave (workers/occupancy.py).

Dramatiq's worker threads serve the interactive queue alone; this lane reads the offline queues through
the same broker, so a line is a Dramatiq message with Dramatiq's delivery guarantee: it is acknowledged
only once its result is stored, and a worker lost mid-line (SIGKILL, OOM) leaves it unacknowledged, so
the broker's maintenance hands it to another worker (WORKER_LOST_AFTER). A line run twice is answered
once: its batch records the first final event only (contract/batch_results.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from dramatiq import Broker, Consumer, Middleware, Worker
from dramatiq.broker import MessageProxy

from contract.dramatiq_internals import refresh_broker_heartbeat, requeue_held, take_one_at_a_time
from contract.names import offline_queue_name

from ..occupancy import Occupancy

logger = logging.getLogger(__name__)
ROOM_WAIT_SECONDS = 0.05
REQUEUE_PAUSE_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.2


class OfflineLane(Middleware):
    """Started with the Dramatiq worker (after it boots), stopped before it shuts down."""

    def __init__(self, models: list[str], task: Callable[[str], None], occupancy: Occupancy, poll_ms: int) -> None:
        self.models = models
        self.task = task
        self.occupancy = occupancy
        self.poll_ms = poll_ms
        self.finished: queue.Queue[tuple[Consumer, MessageProxy, bool]] = queue.Queue()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.pool: ThreadPoolExecutor | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        # The offline queues are read, never declared: Dramatiq's worker takes every queue declared on its
        # broker, even after it booted, and its threads would then run lines as if they were interactive.
        if self.occupancy.offline_slots == 0:
            return
        self.pool = ThreadPoolExecutor(self.occupancy.offline_slots, thread_name_prefix="offline-line")
        self.thread = threading.Thread(target=self._feed, args=(broker,), name="offline-lane", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """No line is taken from now on (Dramatiq's threads finish their interactive requests meanwhile)."""
        self.stopped.set()

    def after_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Lines still running finish (their time limit bounds the wait, which overlaps the interactive
        requests') and are acknowledged."""
        if self.thread is not None:
            self.thread.join()

    def _feed(self, broker: Broker) -> None:
        consumers = [broker.consume(offline_queue_name(model), timeout=self.poll_ms) for model in self.models]
        turn = 0
        while not self.stopped.is_set():
            self._settle()
            if not self.occupancy.wait_for_room(ROOM_WAIT_SECONDS):
                continue
            consumer = consumers[turn % len(consumers)]
            turn += 1
            try:
                take_one_at_a_time(consumer)
                message = next(consumer)
            except Exception:  # Redis failing: try again, the messages are safe in Redis
                logger.warning("offline lane: reading the queue failed", exc_info=True)
                self.stopped.wait(REQUEUE_PAUSE_SECONDS)
                continue
            if message is not None:
                self._start(consumer, message)
        self._drain(broker)

    def _drain(self, broker: Broker) -> None:
        """Waits for the lines running, acknowledging each as it ends. The heartbeats middleware has stopped
        by now: this keeps the broker's heartbeat fresh, or other workers would take these lines for lost."""
        while self.occupancy.offline > 0 or not self.finished.empty():
            self._settle()
            try:
                refresh_broker_heartbeat(broker, self.models[0])  # type: ignore[arg-type]
            except Exception:
                logger.warning("offline lane: broker heartbeat not refreshed", exc_info=True)
            time.sleep(DRAIN_POLL_SECONDS)
        assert self.pool is not None
        self.pool.shutdown(wait=True)

    def _start(self, consumer: Consumer, message: MessageProxy) -> None:
        assert self.pool is not None
        started = threading.Event()

        def run() -> None:
            with self.occupancy.running("offline"):
                started.set()
                try:
                    self.task(*message.args)
                except Exception:  # the task handles its own failures; this is Redis gone for minutes
                    logger.exception("offline lane: line %s not finished; it goes back to its queue", message.args)
                    self.finished.put((consumer, message, False))
                else:
                    self.finished.put((consumer, message, True))

        self.pool.submit(run)
        started.wait()  # counted before the next look for room

    def _settle(self) -> None:
        """Acknowledges finished lines (on this thread, which owns the consumers), requeues failed ones."""
        while True:
            try:
                consumer, message, done = self.finished.get_nowait()
            except queue.Empty:
                return
            try:
                if done:
                    consumer.ack(message)
                else:
                    requeue_held(consumer, message)
            except Exception:  # Redis failing: kept, and tried again at the next pass
                logger.warning("offline lane: could not settle line %s; will retry", message.args, exc_info=True)
                self.finished.put((consumer, message, done))
                self.stopped.wait(REQUEUE_PAUSE_SECONDS)
                return
