"""Per-task event streams: what /stream replays from the start (or from Last-Event-ID) and then follows.

Each event is one Redis stream entry whose `data` field is the JSON an SSE client receives; the entry's
id is the SSE event id. The final event (completed or failed) carries the result or the error.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from .names import EVENTS_CHANNEL, events_key
from .statuses import FINAL_STATUSES, STATUS_MESSAGES, TaskStatus

DATA_FIELD = "data"
START = "0-0"


def status_event(status: TaskStatus, **extra: Any) -> dict[str, Any]:
    return {"status": status.value, "message": STATUS_MESSAGES[status], **extra}


def delta_event(
    text: str, usage: dict[str, int] | None = None, logprobs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """New text, with the token counts so far and the new tokens' log-probabilities when known."""
    extra = {name: value for name, value in (("usage", usage), ("logprobs", logprobs)) if value}
    return status_event(TaskStatus.PROCESSING, delta=text, **extra)


def completed_event(
    result: str | None, metrics: dict[str, Any], logprobs: dict[str, Any] | None = None, embedding: str | None = None
) -> dict[str, Any]:
    extra = {name: value for name, value in (("logprobs", logprobs), ("embedding", embedding)) if value}
    return status_event(TaskStatus.COMPLETED, result=result, metrics=metrics, **extra)


def failed_event(error_type: str | None, error_message: str | None) -> dict[str, Any]:
    return status_event(TaskStatus.FAILED, error_type=error_type, error_message=error_message)


def cancelled_event() -> dict[str, Any]:
    return status_event(TaskStatus.CANCELLED)


def append(pipe: redis.client.Pipeline, task_id: str, event: dict[str, Any], ttl_seconds: int) -> None:
    pipe.xadd(events_key(task_id), {DATA_FIELD: json.dumps(event)})
    pipe.expire(events_key(task_id), ttl_seconds)
    pipe.publish(EVENTS_CHANNEL, task_id)


def is_final(event: dict[str, Any]) -> bool:
    return event.get("status") in FINAL_STATUSES


def read_after(
    client: redis.Redis, task_id: str, after: str, block_ms: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Events after the given id, oldest first; waits up to block_ms for the first one when there is none."""
    return read_many(client, {task_id: after}, block_ms).get(task_id, [])


def read_many(
    client: redis.Redis, positions: dict[str, str], block_ms: int | None = None, count: int = 500
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """For each task, its events after the given id (up to `count`), in one command."""
    found: Any = client.xread(
        {events_key(task): after for task, after in positions.items()}, count=count, block=block_ms
    )
    prefix = len(events_key(""))
    return {
        key[prefix:]: [(entry_id, json.loads(fields[DATA_FIELD])) for entry_id, fields in entries]
        for key, entries in found or []
    }


def id_order(event_id: str) -> tuple[int, int]:
    """A stream entry id as something that sorts like the stream does ("1700000000000-3" -> (1700..., 3))."""
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)
