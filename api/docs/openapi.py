"""The OpenAPI 3.1 document, built from the pydantic models that validate requests and shape responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..batches.openapi import batch_paths
from ..http.auth import API_KEY_HEADER, API_KEY_QUERY
from ..http.errors import ErrorBody
from ..http.health import HealthResponse, LiveResponse
from ..openai.openapi import openai_paths
from ..settings import ApiSettings
from ..tasks import schemas
from ..version import VERSION

REF = "#/components/schemas/{model}"
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF)
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}

    def json(self, model: type[BaseModel], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": self.ref(model)}}}

    def errors(self, *codes: int) -> dict[str, Any]:
        meanings = {
            400: "Invalid JSON or parameter: `field` names it, `errors` lists every one",
            401: "Missing or invalid API key",
            403: "The API key may not use this model (its LLMModel lists other keys)",
            404: "Unknown task, or another key's task",
            413: "Body larger than MAX_REQUEST_BYTES",
            415: "Content-Type other than application/json",
            429: "Rate limit exceeded; see Retry-After",
            503: "Redis unreachable, or the model's queue is full (MAX_QUEUE_LENGTH); see Retry-After",
        }
        return {str(code): self.json(ErrorBody, meanings[code]) for code in codes}


def _operation(op_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "summary": summary, "responses": responses, **extra}


def _sse_event(data: dict[str, Any]) -> dict[str, Any]:
    """One Server-Sent Event as a parsed object; its data line is the JSON that `data` describes."""
    return {
        "type": "object",
        "required": ["data"],
        "properties": {
            "id": {"type": "string", "description": "a Redis stream id; send it back as Last-Event-ID"},
            "event": {"type": "string"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
        },
    }


def _content(media_type: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def build_spec(settings: ApiSettings) -> dict[str, Any]:
    c = _Components()
    key: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}]
    by_id = {"parameters": [TASK_ID], "security": key}
    result = {"oneOf": [c.ref(schemas.CompletedResult), c.ref(schemas.PendingResult), c.ref(schemas.ErrorResult)]}
    stream_notes = (
        "Each event's `data` is a StreamEvent. Reconnect with `Last-Event-ID` to get only what was missed. "
        f"Browsers' EventSource may pass the key as `?{API_KEY_QUERY}=` (this route only)."
    )
    paths = {
        "/health": {
            "get": _operation(
                "health",
                "Is Redis reachable; which models live workers serve",
                {
                    "200": c.json(HealthResponse, "Healthy, or degraded (no worker for the default model)"),
                    "503": c.json(HealthResponse, "Unhealthy: Redis unreachable"),
                },
            )
        },
        "/livez": {
            "get": _operation(
                "live",
                "Liveness: the process answers (readiness, Redis included, is /health)",
                {"200": c.json(LiveResponse, "Alive")},
            )
        },
        "/generate": {
            "post": _operation(
                "generate",
                "Submit a prompt; returns a task id at once",
                {"202": c.json(schemas.QueuedResponse, "Queued"), **c.errors(400, 401, 403, 413, 415, 429, 503)},
                security=key,
                requestBody={
                    "required": True,
                    **_content(
                        "application/json", _request_schema(c, settings), "The prompt and generation parameters"
                    ),
                },
            )
        },
        "/status/{task_id}": {
            "get": _operation(
                "status",
                "A task's status",
                {"200": c.json(schemas.StatusResponse, "The status"), **c.errors(401, 404, 503)},
                **by_id,
            )
        },
        "/result/{task_id}": {
            "get": _operation(
                "result",
                "A task's result, or its pending or error shape",
                {
                    "200": _content("application/json", result, "Completed, pending, or failed"),
                    **c.errors(401, 404, 503),
                },
                **by_id,
            )
        },
        "/stream/{task_id}": {
            "get": _operation(
                "stream",
                "Server-Sent Events: status changes, text deltas, then the result or error",
                {
                    "200": _content(
                        "text/event-stream", _sse_event(c.ref(schemas.StreamEvent)), "Events until the final one"
                    ),
                    **c.errors(400, 401, 404, 503),
                },
                description=stream_notes,
                parameters=[TASK_ID],
                security=[*key, {"ApiKeyQuery": []}],
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Prometheus metrics",
                {
                    "200": _content("text/plain", {"type": "string"}, "Prometheus text format"),
                },
            )
        },
    }
    paths |= openai_paths(settings, c) | batch_paths(settings, c)
    return {
        "openapi": "3.1.0",
        "info": {"title": "LLM inference service", "version": VERSION},
        "paths": paths,
        "components": {
            "schemas": c.schemas,
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
                "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": API_KEY_QUERY},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _request_schema(c: _Components, settings: ApiSettings) -> dict[str, Any]:
    """GenerateRequest, with this server's limit and defaults written in."""
    c.ref(schemas.GenerateRequest)
    schema = c.schemas["GenerateRequest"]
    fields = schema["properties"]
    fields["max_tokens"]["anyOf"][0]["maximum"] = settings.max_tokens_limit
    for name, default in (
        ("max_tokens", settings.max_new_tokens),
        ("temperature", settings.temperature),
        ("top_p", settings.top_p),
        ("model", settings.model_id),
    ):
        fields[name]["default"] = default
    return {"$ref": REF.format(model="GenerateRequest")}
