"""GET /stream/{id}: Server-Sent Events of one task, replayed from the start or from Last-Event-ID."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request

from contract import events
from contract.statuses import TaskStatus
from contract.task_store import TaskRecord

from ..http.auth import require_api_key
from ..http.errors import ApiError
from ..http.metrics import SSE_STREAMS_OPEN
from ..services import services
from .events import DEADLINE, Follower, event_stream, follow
from .records import owned_task

bp = Blueprint("stream", __name__)
STREAM_ID = re.compile(r"\d{1,19}(-\d{1,19})?")  # 19 digits always fit Redis' 64-bit parts


@bp.get("/stream/<task_id>")
@require_api_key(allow_query=True)
def stream(task_id: str) -> Response:
    record = owned_task(task_id)
    svc = services()
    after = request.headers.get("Last-Event-ID") or events.START
    if not STREAM_ID.fullmatch(after):
        raise ApiError(
            400, "Invalid Last-Event-ID: expected an event id such as 1700000000000-0", field="Last-Event-ID"
        )
    deadline = time.monotonic() + svc.settings.sse_max_seconds
    follower = follow(svc.hub, task_id, after, request.environ.get("gunicorn.socket"), deadline)
    body = frames(follower, record, svc.settings.sse_keepalive_seconds)
    return event_stream(body, follower, {"X-Accel-Buffering": "no"})


def frames(follower: Follower, record: TaskRecord, keepalive: float) -> Iterator[str]:
    """Yields SSE frames until the final event; a comment line after `keepalive` seconds without one. Ends
    early, freeing its slot, when the client has gone or the connection reached its longest life."""
    SSE_STREAMS_OPEN.inc()
    try:
        yield from _frames(follower, record, keepalive)
    finally:
        SSE_STREAMS_OPEN.dec()


def _frames(follower: Follower, record: TaskRecord, keepalive: float) -> Iterator[str]:
    last_sent = time.monotonic()
    for item in follower:
        if item is not None:
            yield frame(*item)
            last_sent = time.monotonic()
        elif record.is_final and follower.after == events.START:
            # Events expired or never written (a record from before streams existed): replay the outcome.
            yield frame(None, final_event(record))
            return
        elif time.monotonic() - last_sent >= keepalive:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
    if follower.ended_by == DEADLINE:
        yield ": SSE_MAX_SECONDS reached; reconnect with Last-Event-ID to go on\n\n"


def frame(event_id: str | None, event: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {json.dumps(event)}\n\n"


def final_event(record: TaskRecord) -> dict[str, Any]:
    if record.status is TaskStatus.COMPLETED:
        return events.completed_event(record.result, record.metrics)
    if record.status is TaskStatus.CANCELLED:
        return events.cancelled_event()
    return events.failed_event(record.error_type, record.error_message)
