"""The native task routes' part of the OpenAPI document: /generate, /status, /result and /stream."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation, content, request_body, sse
from ..http.auth import API_KEY_QUERY
from ..http.errors import ErrorBody
from ..settings import ApiSettings
from .schemas import (
    CancelledResult,
    CompletedResult,
    ErrorResult,
    GenerateRequest,
    PendingResult,
    QueuedResponse,
    StatusResponse,
    StreamEvent,
)

KEY: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}]
STREAM_NOTES = (
    "Each event's `data` is a StreamEvent. Reconnect with `Last-Event-ID` to get only what was missed. "
    f"Browsers' EventSource may pass the key as `?{API_KEY_QUERY}=` (this route only)."
)
SUBMITTED = "Submit a prompt; returns a task id at once"
STREAMED = "Server-Sent Events: status changes, text deltas, then the result or error"
RESULT = "A task's result, or its pending, error or cancelled shape"
CANCEL = "Cancel a task: a queued one ends cancelled at once, a running one at the engine's next step"
SUBMIT_ERRORS = (400, 401, 403, 413, 415, 429, 503)
BY_ID = (401, 404, 503)


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    prompt = {"requestBody": request_body("application/json", _generate_request(settings, c), "The prompt")}
    results = {"oneOf": [c.ref(CompletedResult), c.ref(PendingResult), c.ref(ErrorResult), c.ref(CancelledResult)]}
    result = content("application/json", results, "Completed, pending, failed or cancelled")
    queued, status = c.json(QueuedResponse, "Queued"), c.json(StatusResponse, "The status")
    events = sse(c.ref(StreamEvent), "Events until the final one")
    by_query = {"security": [*KEY, {"ApiKeyQuery": []}], "description": STREAM_NOTES}
    return c.paths(
        ErrorBody,
        {"security": KEY},
        Operation("post", "/generate", "generate", SUBMITTED, queued, SUBMIT_ERRORS, "202", prompt),
        Operation("get", "/status/{task_id}", "status", "A task's status", status, BY_ID),
        Operation("get", "/result/{task_id}", "result", RESULT, result, BY_ID),
        Operation("get", "/stream/{task_id}", "stream", STREAMED, events, (400, *BY_ID), more=by_query),
        Operation("post", "/cancel/{task_id}", "cancel", CANCEL, status, (401, 404, 409, 503)),
    )


def _generate_request(settings: ApiSettings, c: Components) -> dict[str, str]:
    """GenerateRequest, with this server's limit and defaults written in."""
    fields = c.fields(GenerateRequest)
    fields["max_tokens"]["anyOf"][0]["maximum"] = settings.max_tokens_limit
    for name, default in (
        ("max_tokens", settings.max_new_tokens),
        ("temperature", settings.temperature),
        ("top_p", settings.top_p),
        ("model", settings.model_id),
    ):
        fields[name]["default"] = default
    return c.ref(GenerateRequest)
