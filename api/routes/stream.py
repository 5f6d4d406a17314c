"""GET /stream/{id}: Server-Sent Events of one task, replayed from the start or from Last-Event-ID."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from contract import events
from contract.statuses import TaskStatus
from contract.task_store import TaskRecord, TaskStore

from ..auth import require_api_key
from ..metrics import SSE_STREAMS_OPEN
from ..services import services
from ..task_events import DEADLINE, Follower
from ..task_ownership import owned_task

bp = Blueprint("stream", __name__)


@bp.get("/stream/<task_id>")
@require_api_key(allow_query=True)
def stream(task_id: str) -> Response:
    record = owned_task(task_id)
    svc = services()
    after = request.headers.get("Last-Event-ID") or events.START
    limits = Limits(
        svc.settings.sse_keepalive_seconds,
        time.monotonic() + svc.settings.sse_max_seconds,
        request.environ.get("gunicorn.socket"),
    )
    body = follow(svc.store, record, after, limits)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(body, mimetype="text/event-stream", headers=headers)


@dataclass(frozen=True)
class Limits:
    keepalive: float
    """seconds of silence after which a comment line goes out"""
    deadline: float
    """time.monotonic() at which the connection ends (SSE_MAX_SECONDS); the client reconnects"""
    client: socket.socket | None
    """the client's socket, to notice a disconnect without waiting for a write to fail"""


def follow(store: TaskStore, record: TaskRecord, after: str, limits: Limits) -> Iterator[str]:
    """Yields SSE frames until the final event; a comment line whenever nothing was sent for a while. Ends
    early, freeing its thread, when the client has gone or the connection reached its longest life."""
    SSE_STREAMS_OPEN.inc()
    try:
        yield from _frames(store, record, after, limits)
    finally:
        SSE_STREAMS_OPEN.dec()


def _frames(store: TaskStore, record: TaskRecord, after: str, limits: Limits) -> Iterator[str]:
    follower = Follower(store, record.task_id, after, limits.client, limits.deadline)
    last_sent = time.monotonic()
    for item in follower:
        if item is not None:
            yield frame(*item)
            last_sent = time.monotonic()
        elif record.is_final and follower.after == events.START:
            # Events expired or never written (a record from before streams existed): replay the outcome.
            yield frame(None, final_event(record))
            return
        elif time.monotonic() - last_sent >= limits.keepalive:
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
    return events.failed_event(record.error_type, record.error_message)
