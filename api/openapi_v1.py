"""The OpenAI-compatible routes in the OpenAPI document: requests as this service accepts them (unknown
parameters refused, OpenAI's other parameters only at their neutral values), responses and errors in
OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from .openai_schemas import NEUTRAL
from .settings import ApiSettings

BEARER: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"ApiKeyHeader": []}]
TEXT = {"type": "string", "pattern": r"\S"}
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
    404: "Unknown model",
    413: "Body too large",
    415: "Not JSON",
    429: "Rate limit exceeded",
    503: "Redis unreachable or the queue is full",
}


# One event of a streamed answer: its data line is a chunk's JSON, or `[DONE]` at the end.
CHUNK_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}


def openai_paths(settings: ApiSettings) -> dict[str, Any]:
    completion = _request(
        {"prompt": {"oneOf": [TEXT, {"type": "array", "items": TEXT, "minItems": 1, "maxItems": 1}]}},
        ["prompt"],
        settings,
    )
    message = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": ["system", "user", "assistant", "developer", "tool"]},
            "content": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "text"],
                            "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
                        },
                    },
                ]
            },
        },
    }
    chat = _request(
        {"messages": {"type": "array", "items": message, "minItems": 1}, "max_completion_tokens": _tokens(settings)},
        ["messages"],
        settings,
    )
    model = {"type": "object", "required": ["id"]}
    models = {
        "type": "object",
        "required": ["object", "data"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": model}},
    }
    return {
        "/v1/models": {"get": _op("v1_models", "Models (OpenAI)", {"200": _json(models, "The models")}, [401])},
        "/v1/models/{model}": {
            "get": {
                **_op(
                    "v1_model",
                    "One model (OpenAI); ids may hold slashes",
                    {"200": _json(model, "The model")},
                    [401, 404],
                ),
                "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
            }
        },
        "/v1/completions": {"post": _op("v1_completions", "A completion (OpenAI)", _answers(), _CODES, completion)},
        "/v1/chat/completions": {
            "post": _op("v1_chat_completions", "A chat completion (OpenAI)", _answers(), _CODES, chat)
        },
    }


_CODES = [400, 401, 403, 404, 413, 415, 429, 503]


def _tokens(settings: ApiSettings) -> dict[str, Any]:
    return {"type": ["integer", "null"], "minimum": 1, "maximum": settings.max_tokens_limit}


def _request(own: dict[str, Any], required: list[str], settings: ApiSettings) -> dict[str, Any]:
    neutral = {name: ({"type": "null"} if value is None else {"const": value}) for name, value in NEUTRAL.items()}
    common = {
        "model": {"type": ["string", "null"], "minLength": 1, "maxLength": 256, "default": settings.model_id},
        "max_tokens": _tokens(settings),
        "temperature": {"type": ["number", "null"], "minimum": 0, "maximum": 2},
        "top_p": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
        "stop": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "null"},
                {"type": "array", "maxItems": 4, "items": {"type": "string", "minLength": 1}},
            ]
        },
        "seed": {"type": ["integer", "null"]},
        "user": {"type": ["string", "null"], "maxLength": 128},
        "stream": {"type": "boolean"},
        "stream_options": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "additionalProperties": False, "properties": {"include_usage": {"type": "boolean"}}},
            ]
        },
    }
    schema = {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {**neutral, **common, **own},
    }
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _answers() -> dict[str, Any]:
    return {
        "200": {
            "description": "The completion, or its chunks when `stream` is true (ending `data: [DONE]`)",
            "content": {"application/json": {"schema": CHOICES}, "text/event-stream": {"schema": CHUNK_EVENT}},
        }
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    operation_id: str, summary: str, ok: dict[str, Any], codes: list[int], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    errors = {str(code): _json(ERROR, MEANINGS[code]) for code in codes}
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["OpenAI-compatible"],
        "security": BEARER,
        "responses": {**ok, **errors},
        **({"requestBody": body} if body else {}),
    }
