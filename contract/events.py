"""Per-task event streams: what /stream replays from the start (or from Last-Event-ID) and then follows.

Each event is one Redis stream entry whose `data` field is the JSON an SSE client receives; the entry's
id is the SSE event id. The final event (completed or failed) carries the result or the error.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from .names import events_key
from .statuses import FINAL_STATUSES, STATUS_MESSAGES, TaskStatus

DATA_FIELD = "data"
START = "0-0"


def status_event(status: TaskStatus, **extra: Any) -> dict[str, Any]:
    return {"status": status.value, "message": STATUS_MESSAGES[status], **extra}


def delta_event(text: str) -> dict[str, Any]:
    return status_event(TaskStatus.PROCESSING, delta=text)


def completed_event(result: str | None, metrics: dict[str, Any]) -> dict[str, Any]:
    return status_event(TaskStatus.COMPLETED, result=result, metrics=metrics)


def failed_event(error_type: str | None, error_message: str | None) -> dict[str, Any]:
    return status_event(TaskStatus.FAILED, error_type=error_type, error_message=error_message)


def append(pipe: redis.client.Pipeline, task_id: str, event: dict[str, Any], ttl_seconds: int) -> None:
    pipe.xadd(events_key(task_id), {DATA_FIELD: json.dumps(event)})
    pipe.expire(events_key(task_id), ttl_seconds)


def is_final(event: dict[str, Any]) -> bool:
    return event.get("status") in FINAL_STATUSES


def read_after(
    client: redis.Redis, task_id: str, after: str, block_ms: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Events after the given id, oldest first; waits up to block_ms for the first one when there is none."""
    found: Any = client.xread({events_key(task_id): after}, count=500, block=block_ms)
    entries: list[tuple[str, dict[str, str]]] = found[0][1] if found else []
    return [(entry_id, json.loads(fields[DATA_FIELD])) for entry_id, fields in entries]
