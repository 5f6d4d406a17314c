"""The OpenAI-compatible routes in the OpenAPI document: requests as this service accepts them (from the
same pydantic models that validate them; OpenAI's unimplemented parameters only at their neutral values),
responses and errors in OpenAI's shapes."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from ..settings import ApiSettings
from .protocol import NEUTRAL, ChatCompletionRequest, CompletionRequest

BEARER: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"ApiKeyHeader": []}]
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
CHOICES = {"type": "object", "required": ["id", "object", "created", "model", "choices"]}
MEANINGS = {
    400: "Invalid or unsupported parameter (`param` names it)",
    401: "Missing or invalid API key",
    403: "The key may not use this model",
    404: "Unknown model, or a file or batch that does not exist or belongs to another key",
    413: "Body too large",
    409: "The batch is not in progress, so it cannot be cancelled",
    415: "Not JSON (or, for a file, not multipart/form-data)",
    429: "Rate limit exceeded, or (batches) BATCH_MAX_OPEN batches open",
    503: "Redis unreachable or the queue is full",
}


# One event of a streamed answer: its data line is a chunk's JSON, or `[DONE]` at the end.
CHUNK_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}


class Components(Protocol):
    schemas: dict[str, Any]

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        """Puts a pydantic model's schema in the document's components; returns its $ref."""
        ...


def openai_paths(settings: ApiSettings, components: Components) -> dict[str, Any]:
    completion = _request(CompletionRequest, settings, components)
    chat = _request(ChatCompletionRequest, settings, components)
    model = {"type": "object", "required": ["id"]}
    models = {
        "type": "object",
        "required": ["object", "data"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": model}},
    }
    return {
        "/v1/models": {
            "get": operation("v1_models", "Models (OpenAI)", {"200": json_body(models, "The models")}, [401])
        },
        "/v1/models/{model}": {
            "get": {
                **operation(
                    "v1_model",
                    "One model (OpenAI); ids may hold slashes",
                    {"200": json_body(model, "The model")},
                    [401, 404],
                ),
                "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
            }
        },
        "/v1/completions": {
            "post": operation("v1_completions", "A completion (OpenAI)", _answers(), _CODES, completion)
        },
        "/v1/chat/completions": {
            "post": operation("v1_chat_completions", "A chat completion (OpenAI)", _answers(), _CODES, chat)
        },
    }


_CODES = [400, 401, 403, 404, 413, 415, 429, 503]


def _request(model: type[BaseModel], settings: ApiSettings, components: Components) -> dict[str, Any]:
    """The request model's schema, with this server's limits and defaults, and OpenAI's unimplemented
    parameters at the only values accepted. Other fields are not refused (they are ignored), so the
    document does not forbid them."""
    found = components.ref(model)
    fields = components.schemas[model.__name__]["properties"]
    for name in ("max_tokens", "max_completion_tokens"):
        if name in fields:
            fields[name]["anyOf"][0]["maximum"] = settings.max_tokens_limit
    fields["model"]["default"] = settings.model_id
    for name, values in NEUTRAL.items():
        fields[name] = {"anyOf": [{"type": "null"} if value is None else {"const": value} for value in values]}
    return {"required": True, "content": {"application/json": {"schema": found}}}


def _answers() -> dict[str, Any]:
    return {
        "200": {
            "description": "The completion, or its chunks when `stream` is true (ending `data: [DONE]`)",
            "content": {"application/json": {"schema": CHOICES}, "text/event-stream": {"schema": CHUNK_EVENT}},
        }
    }


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(
    operation_id: str, summary: str, ok: dict[str, Any], codes: list[int], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    errors = {str(code): json_body(ERROR, MEANINGS[code]) for code in codes}
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["OpenAI-compatible"],
        "security": BEARER,
        "responses": {**ok, **errors},
        **({"requestBody": body} if body else {}),
    }
