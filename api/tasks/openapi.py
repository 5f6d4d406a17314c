"""The native task routes' part of the OpenAPI document: /generate, /status, /result and /stream."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, content, path_parameter, request_body, sse
from ..http.auth import API_KEY_QUERY
from ..http.errors import ErrorBody
from ..settings import ApiSettings
from .schemas import (
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


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    by_id = {"parameters": [path_parameter("task_id")], "security": KEY}
    result = {"oneOf": [c.ref(CompletedResult), c.ref(PendingResult), c.ref(ErrorResult)]}
    return {
        "/generate": {
            "post": {
                "operationId": "generate",
                "summary": "Submit a prompt; returns a task id at once",
                "security": KEY,
                "requestBody": request_body("application/json", _generate_request(settings, c), "The prompt"),
                "responses": {
                    "202": c.json(QueuedResponse, "Queued"),
                    **c.errors(ErrorBody, 400, 401, 403, 413, 415, 429, 503),
                },
            }
        },
        "/status/{task_id}": {
            "get": {
                "operationId": "status",
                "summary": "A task's status",
                "responses": {"200": c.json(StatusResponse, "The status"), **c.errors(ErrorBody, 401, 404, 503)},
                **by_id,
            }
        },
        "/result/{task_id}": {
            "get": {
                "operationId": "result",
                "summary": "A task's result, or its pending or error shape",
                "responses": {
                    "200": content("application/json", result, "Completed, pending, or failed"),
                    **c.errors(ErrorBody, 401, 404, 503),
                },
                **by_id,
            }
        },
        "/stream/{task_id}": {
            "get": {
                "operationId": "stream",
                "summary": "Server-Sent Events: status changes, text deltas, then the result or error",
                "description": STREAM_NOTES,
                "parameters": [path_parameter("task_id")],
                "security": [*KEY, {"ApiKeyQuery": []}],
                "responses": {
                    "200": sse(c.ref(StreamEvent), "Events until the final one"),
                    **c.errors(ErrorBody, 400, 401, 404, 503),
                },
            }
        },
    }


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
