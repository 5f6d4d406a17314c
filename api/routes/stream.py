"""GET /stream/{id}: Server-Sent Events of one task, replayed from the start or from Last-Event-ID."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request

from workers.core import events
from workers.core.contracts import TaskStatus
from workers.core.task_store import TaskRecord, TaskStore

from ..auth import require_api_key
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
    body = follow(svc.store, record, after, svc.settings.sse_keepalive_seconds)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(body, mimetype="text/event-stream", headers=headers)


def follow(store: TaskStore, record: TaskRecord, after: str, keepalive: float) -> Iterator[str]:
    """Yields SSE frames until the final event; a comment line whenever nothing was sent for `keepalive`."""
    last_sent = time.monotonic()
    while True:
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
        if time.monotonic() - last_sent >= keepalive:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()


def frame(event_id: str | None, event: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {json.dumps(event)}\n\n"


def final_event(record: TaskRecord) -> dict[str, Any]:
    if record.status is TaskStatus.COMPLETED:
        return events.completed_event(record.result, record.metrics)
    return events.failed_event(record.error_type, record.error_message)
