"""GET /stream/{id}: Server-Sent Events of one task, replayed from the start or from Last-Event-ID."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from workers.core import events
from workers.core.contracts import TaskStatus
from workers.core.task_store import TaskRecord, TaskStore

from ..auth import require_api_key
from ..metrics import SSE_STREAMS_OPEN
from ..services import services
from .tasks import owned_task

bp = Blueprint("stream", __name__)
# Redis reads block this long at most (below the client's socket timeout), so the loop stays responsive.
READ_BLOCK_MS = 1000


@bp.get("/stream/<task_id>")
@require_api_key(allow_query=True)
def stream(task_id: str) -> Response:
    record = owned_task(task_id)
    svc = services()
    after = request.headers.get("Last-Event-ID") or events.START
    limits = Limits(svc.settings.sse_keepalive_seconds, time.monotonic() + svc.settings.sse_max_seconds,
                    request.environ.get("gunicorn.socket"))  # fmt: skip
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
    last_sent = time.monotonic()
    while True:
        if limits.client is not None and client_gone(limits.client):
            return
        if time.monotonic() >= limits.deadline:
            yield ": SSE_MAX_SECONDS reached; reconnect with Last-Event-ID to go on\n\n"
            return
        found = events.read_after(store.client, record.task_id, after, block_ms=READ_BLOCK_MS)
        if not found and record.is_final and after == events.START:
            # Events expired or never written (a record from before streams existed): replay the outcome.
            yield frame(None, final_event(record))
            return
        for event_id, event in found:
            yield frame(event_id, event)
            after, last_sent = event_id, time.monotonic()
            if events.is_final(event):
                return
        if time.monotonic() - last_sent >= limits.keepalive:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()


def client_gone(sock: socket.socket) -> bool:
    """A readable socket with nothing to read is one the client closed (HTTP clients send nothing more
    while they wait on an SSE response)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # closed already; or a TLS socket, which cannot peek: assume it is there
        return False


def frame(event_id: str | None, event: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {json.dumps(event)}\n\n"


def final_event(record: TaskRecord) -> dict[str, Any]:
    if record.status is TaskStatus.COMPLETED:
        return events.completed_event(record.result, record.metrics)
    return events.failed_event(record.error_type, record.error_message)
