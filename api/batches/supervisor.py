"""Moves open batches on, from every api process: a batch whose lines have all finished is finalized (its
output and error files written), a cancelled one has its unfinished lines closed, and one past its
completion window expires the same way. A lock per batch lets one process act at a time; each step can be
redone, so a process that dies mid-step leaves the batch to the next one."""

from __future__ import annotations

import json
import logging
import secrets
import time

import redis

from contract import batch_results, events, webhooks
from contract.batch_results import BatchLine
from contract.error_kinds import ErrorKind
from contract.names import batch_lock_key
from contract.statuses import FINAL_BATCH_STATUSES, BatchStatus
from contract.task_store import TaskStore

from ..http.background import BackgroundLoop
from ..webhooks.events import event_body
from .files import OUTPUT_PURPOSE, FileStore
from .output import CLOSED, render
from .store import RESERVATION_SECONDS, Batch, BatchStore

logger = logging.getLogger(__name__)
LOCK_SECONDS = 60
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
INTERRUPTED_AFTER_SECONDS = RESERVATION_SECONDS  # a creation queues thousands of lines in seconds
INTERVAL_SECONDS = 1.0


class Supervisor:
    def __init__(
        self,
        client: redis.Redis,
        batches: BatchStore,
        files: FileStore,
        tasks: TaskStore,
        webhook_ttl: int,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.client = client
        self.batches = batches
        self.files = files
        self.tasks = tasks
        self.webhook_ttl = webhook_ttl
        self.interval = interval
        self.background = BackgroundLoop("batch-supervisor", self.sweep, interval)

    def ensure_running(self) -> None:
        self.background.ensure_running()

    def sweep(self) -> None:
        for batch_id, _ in self.batches.open_ids():
            lock, token = batch_lock_key(batch_id), secrets.token_hex(8)
            if not self.client.set(lock, token, nx=True, ex=LOCK_SECONDS):
                continue
            try:
                self.advance(batch_id)
            finally:
                self.client.eval(_UNLOCK, 1, lock, token)  # ours only: it may have expired and been taken

    def advance(self, batch_id: str) -> None:
        batch = self.batches.get(batch_id)
        if batch is None or batch.status in FINAL_BATCH_STATUSES:  # gone, or ended since the list was read
            self.batches.forget(batch_id)
            return
        if batch.status is BatchStatus.VALIDATING:
            if time.time() - int(batch.fields["created_at"]) > INTERRUPTED_AFTER_SECONDS:
                self._interrupted(batch)
            return  # its creation is still queueing lines
        ending = self._ending(batch)
        if batch.unfinished > 0:
            if ending is None:
                return
            self._close_unfinished(
                batch, ErrorKind.BATCH_CANCELLED if ending is BatchStatus.CANCELLED else ErrorKind.BATCH_EXPIRED
            )
        elif ending is BatchStatus.EXPIRED and batch.status is BatchStatus.IN_PROGRESS:
            ending = None  # every line answered in time: completed, though the sweep comes after the window
        self.finalize(self.batches.get(batch_id) or batch, ending or BatchStatus.COMPLETED)

    def _interrupted(self, batch: Batch) -> None:
        """The process creating it died part-way: the batch fails and what it had queued stops."""
        for line in self.batches.lines(batch.batch_id):
            self.tasks.request_cancel(line["task_id"])
        reason = {"code": "creation_interrupted", "message": "the api stopped while queueing the batch's lines"}
        self.batches.move(batch, BatchStatus.FAILED, errors=json.dumps({"object": "list", "data": [reason]}))

    def _ending(self, batch: Batch) -> BatchStatus | None:
        """How the batch ends when it ends early: cancelled, or expired past its window; None otherwise.
        (A finalize cut short by a dying process left the ending it had chosen.)"""
        if batch.status is BatchStatus.FINALIZING:
            return BatchStatus(batch.fields["ending"])
        if batch.status is BatchStatus.CANCELLING:
            return BatchStatus.CANCELLED
        if time.time() >= batch.expires_at:
            return BatchStatus.EXPIRED
        return None

    def _close_unfinished(self, batch: Batch, code: ErrorKind) -> None:
        """Every line without an answer gets one now (the code), and its task is told to stop, so a worker
        that has it, or takes it later, drops it at once."""
        answered = batch_results.read(self.client, batch.batch_id)
        lines = self.batches.lines(batch.batch_id)
        unanswered = [index for index in range(len(lines)) if index not in answered]
        event = events.failed_event(code, CLOSED[code])
        with self.client.pipeline(transaction=False) as pipe:
            for index in unanswered:
                batch_results.record(pipe, BatchLine(batch.batch_id, index), event)
            pipe.execute()
        for index in unanswered:
            self.tasks.request_cancel(lines[index]["task_id"])

    def finalize(self, batch: Batch, status: BatchStatus) -> None:
        moved = self.batches.move(batch, BatchStatus.FINALIZING, ending=status.value)
        if moved is None:
            return  # another process moved it on
        batch = moved
        output, errors = render(self.batches.lines(batch.batch_id), batch_results.read(self.client, batch.batch_id))
        files = {}
        with self.client.pipeline(transaction=True) as pipe:
            for field, name, content in (("output_file_id", "output", output), ("error_file_id", "errors", errors)):
                if content:
                    filename = f"{batch.batch_id}_{name}.jsonl"
                    stored = self.files.add(
                        pipe, owner=batch.owner, filename=filename, purpose=OUTPUT_PURPOSE, content=content
                    )
                    files[field] = stored.file_id
            pipe.execute()
        done = self.batches.move(batch, status, **files)
        if done is None:
            return
        logger.info(
            "batch %s %s: %d completed, %d failed",
            batch.batch_id,
            status.value,
            done.count("completed"),
            done.count("failed"),
        )
        self._announce(done)

    def _announce(self, batch: Batch) -> None:
        """The batch's webhook, when its metadata named one: the batch object as it ended."""
        url = batch.fields.get("callback_url")
        if url:
            data = batch.as_openai().model_dump(mode="json")
            body = event_body(f"evt_{batch.batch_id}", f"batch.{batch.status.value}", data)
            delivery = f"msg_{batch.batch_id}"
            webhooks.schedule(
                self.client,
                delivery,
                url=url,
                kind="batch",
                ref=batch.batch_id,
                now=time.time(),
                ttl=self.webhook_ttl,
                owner=batch.owner,
                body=body,
            )
