"""Task records: one Redis hash per task, written by the api and the worker, read by the api."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from . import batch_results, events, usage, webhooks
from .batch_results import BatchLine
from .names import TASKS_FINISHED_KEY, events_key, task_key
from .statuses import FINAL_STATUSES, TaskStatus
from .task_params import TaskParams
from .tenant_budget import Reservation
from .tenants import own_tenant

CANCEL_FIELD = "cancel_requested"
BY_OWNER, CLIENT_GONE = "owner", "1"
"""why a task was asked to stop, the value of its CANCEL_FIELD: it ends `cancelled` when its owner asked
(POST /cancel/{id}), `failed` (Cancelled) when its client went away"""


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    status: TaskStatus
    owner: str
    model: str
    params: TaskParams
    created_at: float
    user_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    batch_line: BatchLine | None = None
    """set for a line of a Batch API batch: its final event is recorded there too"""
    callback_url: str | None = None
    """a webhook to tell when the task ends (checked against the api's allowed hosts when accepted)"""
    tenant: str = ""
    """the owner's tenant when accepted (contract/tenants.py); its usage counts there"""
    reservation: Reservation | None = None
    """what the task holds of its tenant's budgets until it ends"""
    response: dict[str, Any] | None = None
    """for a Responses API request, what it alone keeps (its input items, instructions, the conversation
    before it, metadata): read back by the api only"""
    retention: int | None = None
    """seconds the record is kept after each change, when not the store's own (RESPONSES_TTL for responses)"""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_hash(cls, task_id: str, data: dict[str, str]) -> TaskRecord:
        def number(name: str) -> float | None:
            return float(data[name]) if data.get(name) else None

        return cls(
            task_id=task_id,
            status=TaskStatus(data["status"]),
            owner=data["owner"],
            model=data["model"],
            params=TaskParams.model_validate_json(data["params"]),
            created_at=float(data["created_at"]),
            user_id=data.get("user_id") or None,
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            result=data.get("result"),
            error_type=data.get("error_type") or None,
            error_message=data.get("error_message") or None,
            metrics=json.loads(data.get("metrics") or "{}"),
            batch_line=BatchLine.parse(data["batch_line"]) if data.get("batch_line") else None,
            callback_url=data.get("callback_url") or None,
            tenant=data.get("tenant") or own_tenant(data["owner"]).name,
            reservation=Reservation.parse(data["reservation"]) if data.get("reservation") else None,
            response=json.loads(data["response"]) if data.get("response") else None,
            retention=int(data["retention"]) if data.get("retention") else None,
        )


class TaskStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.client = client
        self.ttl = ttl_seconds

    def create(
        self,
        task_id: str,
        *,
        owner: str,
        model: str,
        params: TaskParams,
        user_id: str | None,
        batch_line: BatchLine | None = None,
        callback_url: str | None = None,
        tenant: str | None = None,
        reservation: Reservation | None = None,
        response: dict[str, Any] | None = None,
        retention: int | None = None,
    ) -> TaskRecord:
        created = time.time()
        record = TaskRecord(
            task_id,
            TaskStatus.QUEUED,
            owner,
            model,
            params,
            created,
            user_id,
            batch_line=batch_line,
            callback_url=callback_url,
            tenant=tenant or own_tenant(owner).name,
            reservation=reservation,
            response=response,
            retention=retention,
        )
        fields = {
            "status": record.status.value,
            "owner": owner,
            "model": model,
            "params": params.model_dump_json(exclude_defaults=True),
            "created_at": repr(record.created_at),
            "user_id": user_id or "",
            "tenant": record.tenant,
        }
        if reservation is not None:
            fields["reservation"] = str(reservation)
        if response is not None:
            fields["response"] = json.dumps(response)
        if batch_line is not None:
            fields["batch_line"] = str(batch_line)
        if callback_url is not None:
            fields["callback_url"] = callback_url
        if retention is not None:
            fields["retention"] = str(retention)
        with self.client.pipeline(transaction=True) as pipe:
            self._queue_write(pipe, task_id, fields, events.status_event(TaskStatus.QUEUED), model, ttl=retention)
            pipe.execute()
        return record

    def get(self, task_id: str) -> TaskRecord | None:
        return self._read(self.client, task_id)

    @staticmethod
    def _read(client: Any, task_id: str) -> TaskRecord | None:
        data: dict[str, str] = client.hgetall(task_key(task_id))
        return TaskRecord.from_hash(task_id, data) if data else None

    def delete(self, task_id: str) -> None:
        self.client.delete(task_key(task_id), events_key(task_id))

    def mark_processing(self, task_id: str) -> TaskRecord | None:
        """Claim a task for generation; returns None when the record is gone and the record as is when final.
        Claimed only if it did not change since it was read (WATCH): its owner may be cancelling it."""
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(task_key(task_id))
                    record = self._read(pipe, task_id)
                    if record is None or record.is_final:
                        return record
                    # Already processing means a worker was lost mid-task and its message came back: say so,
                    # so that stream readers drop the text they got from the first attempt.
                    restarted = {"restarted": True} if record.status is TaskStatus.PROCESSING else {}
                    started_at = time.time()
                    pipe.multi()
                    self._queue_write(
                        pipe,
                        task_id,
                        {"status": TaskStatus.PROCESSING.value, "started_at": repr(started_at)},
                        events.status_event(TaskStatus.PROCESSING, **restarted),
                        record.model,
                        keeps_ttl=record.batch_line is not None,
                        ttl=record.retention,
                    )
                    pipe.execute()
                    return replace(record, status=TaskStatus.PROCESSING, started_at=started_at)
                except redis.WatchError:
                    continue  # changed meanwhile (cancelled, or claimed): read it again

    def cancel_if_queued(self, task_id: str) -> TaskRecord | None:
        """Its owner cancels a task no worker has claimed: it ends `cancelled` now (its message, taken later,
        finds it final and is skipped). Returns the record as it then is, or None when it is gone."""
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(task_key(task_id))
                    record = self._read(pipe, task_id)
                    if record is None or record.status is not TaskStatus.QUEUED:
                        return record
                    cancelled = replace(record, status=TaskStatus.CANCELLED, finished_at=time.time())
                    fields = {"status": cancelled.status.value, "finished_at": repr(cancelled.finished_at)}
                    pipe.multi()
                    self._queue_final(pipe, cancelled, fields, events.cancelled_event())
                    pipe.execute()
                    return cancelled
                except redis.WatchError:
                    continue

    def cancel(self, record: TaskRecord) -> TaskRecord | None:
        """The record as cancelled by its owner while it ran, or None when it had expired."""
        cancelled = replace(record, status=TaskStatus.CANCELLED, finished_at=time.time())
        fields = {"status": cancelled.status.value, "finished_at": repr(cancelled.finished_at)}
        return cancelled if self._update(cancelled, fields, events.cancelled_event()) else None

    def append_deltas(
        self,
        texts: Mapping[str, str],
        usage: Mapping[str, dict[str, int]] | None = None,
        logprobs: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        """New generated text of several tasks, by task id, in one round trip (for streams; the record
        itself gets the whole text at completion), with each task's token counts so far and its new tokens'
        log-probabilities when known."""
        with self.client.pipeline(transaction=False) as pipe:
            for task_id, text in texts.items():
                event = events.delta_event(text, (usage or {}).get(task_id), (logprobs or {}).get(task_id))
                events.append(pipe, task_id, event, self.ttl)
            pipe.execute()

    def complete(
        self,
        record: TaskRecord,
        *,
        result: str,
        metrics: dict[str, Any],
        finished_at: float,
        logprobs: dict[str, Any] | None = None,
        embedding: str | None = None,
    ) -> TaskRecord | None:
        """The record as completed, or None when it had expired (and stays gone). Log-probabilities, when
        asked for, and an embedding (contract/embeddings.py) go in the completed event only (the /v1 routes
        read them there; /tasks does not show them)."""
        done = replace(record, status=TaskStatus.COMPLETED, result=result, metrics=metrics, finished_at=finished_at)
        fields = {
            "status": done.status.value,
            "result": result,
            "metrics": json.dumps(metrics),
            "finished_at": repr(finished_at),
        }
        return (
            done if self._update(done, fields, events.completed_event(result, metrics, logprobs, embedding)) else None
        )

    def fail(self, record: TaskRecord, *, error_type: str, error_message: str) -> TaskRecord | None:
        """The record as failed, or None when it had expired (and stays gone)."""
        failed = replace(
            record,
            status=TaskStatus.FAILED,
            error_type=error_type,
            error_message=error_message,
            finished_at=time.time(),
        )
        fields = {
            "status": failed.status.value,
            "error_type": error_type,
            "error_message": error_message,
            "finished_at": repr(failed.finished_at),
        }
        return failed if self._update(failed, fields, events.failed_event(error_type, error_message)) else None

    def wait_for_replicas(self, task_id: str, replicas: int, timeout_seconds: float) -> int:
        """How many replicas hold every write made so far (Redis WAIT), waiting up to the timeout.

        WAIT counts the writes of the connection it runs on, so it follows a write on the same connection
        (the record's expiry, set again): replication keeps order, so the record and the queue message,
        written before that, are on every replica that acknowledges it."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.expire(task_key(task_id), self.ttl)
            pipe.wait(replicas, max(1, round(timeout_seconds * 1000)))
            return int(pipe.execute()[1])

    def request_cancel(self, task_id: str, by_owner: bool = False) -> None:
        """The client went away, or the owner cancels a running task: the worker stops generating at its next
        check (a field, not an event, so a record that has already finished is left as it is)."""
        if self.client.exists(task_key(task_id)):
            self.client.hset(task_key(task_id), CANCEL_FIELD, BY_OWNER if by_owner else CLIENT_GONE)

    def cancel_requested(self, task_id: str) -> str | None:
        """Why the task was asked to stop (BY_OWNER or CLIENT_GONE), or None when it was not."""
        found: str | None = self.client.hget(task_key(task_id), CANCEL_FIELD)  # type: ignore[assignment]
        return found

    def finished_counts(self) -> dict[tuple[str, str], int]:
        """Tasks finished since Redis began, by (model, final status)."""
        counts: dict[str, str] = self.client.hgetall(TASKS_FINISHED_KEY)  # type: ignore[assignment]
        return {tuple(field.split("\t", 1)): int(value) for field, value in counts.items()}  # type: ignore[misc]

    def _update(self, record: TaskRecord, fields: Mapping[Any, str], event: dict[str, Any]) -> bool:
        # A record that expired stays gone: writing to it would leave a partial record without an owner.
        if not self.client.exists(task_key(record.task_id)):
            return False
        with self.client.pipeline(transaction=True) as pipe:
            self._queue_final(pipe, record, fields, event)
            pipe.execute()
        return True

    def _queue_final(
        self, pipe: redis.client.Pipeline, record: TaskRecord, fields: Mapping[Any, str], event: dict[str, Any]
    ) -> None:
        def announce(pipe: redis.client.Pipeline) -> None:
            self._announce(pipe, record, event)

        keeps_ttl = record.batch_line is not None
        self._queue_write(
            pipe, record.task_id, fields, event, record.model, announce, keeps_ttl=keeps_ttl, ttl=record.retention
        )

    def _announce(self, pipe: redis.client.Pipeline, record: TaskRecord, event: dict[str, Any]) -> None:
        """What else learns of a task's end, in the same transaction: its owner's usage, its batch, its
        webhook."""
        metrics = event.get("metrics") or {}
        tokens = int(metrics.get("prompt_tokens", 0)), int(metrics.get("completion_tokens", 0))
        counted = usage.Counted(record.task_id, record.tenant, record.owner, record.model, *tokens, record.reservation)
        usage.count(pipe, counted, record.finished_at or time.time())
        if record.batch_line is not None:
            batch_results.record(pipe, record.batch_line, event)
        if record.callback_url is not None:
            delivery = webhooks.task_delivery_id(record.task_id)
            now = time.time()
            webhooks.schedule(
                pipe,
                delivery,
                url=record.callback_url,
                kind="task",
                ref=record.task_id,
                now=now,
                ttl=self.ttl,
                owner=record.owner,
            )

    def _queue_write(
        self,
        pipe: redis.client.Pipeline,
        task_id: str,
        fields: Mapping[Any, str],
        event: dict[str, Any],
        model: str,
        on_final: Callable[[redis.client.Pipeline], None] | None = None,
        keeps_ttl: bool = False,
        ttl: int | None = None,
    ) -> None:
        # Record, retention, event and counts in one transaction (the caller's): readers never see one without
        # the others. A batch line's record keeps the retention its batch gave it (its window, then
        # RESULT_TTL): a line handed back after a lost worker may wait that long again. A record with a
        # retention of its own (`ttl`) is kept that long after each change, whoever writes it.
        pipe.hset(task_key(task_id), mapping=fields)
        if not keeps_ttl:
            pipe.expire(task_key(task_id), ttl or self.ttl)
        events.append(pipe, task_id, event, ttl or self.ttl)
        if event["status"] in FINAL_STATUSES:
            pipe.hincrby(TASKS_FINISHED_KEY, f"{model}\t{event['status']}", 1)
            if on_final is not None:
                on_final(pipe)
