"""The /v1 routes' part of the OpenAPI document: requests as this service accepts them (OpenAI's parameters
it does not implement only at their neutral values), responses and errors in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..docs.components import Components, path_parameter, request_body, sse
from ..http.errors import OpenAIErrorBody
from ..settings import ApiSettings
from .protocol import NEUTRAL, ChatCompletionRequest, CompletionRequest
from .shapes import ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk, Model, ModelList

OPENAI: dict[str, Any] = {"tags": ["OpenAI-compatible"], "security": [{"BearerAuth": []}, {"ApiKeyHeader": []}]}
ANSWERS = "The completion, or when `stream` is true its chunks, ending with `data: [DONE]`"


def operation(c: Components, operation_id: str, summary: str, ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    """One OpenAI-compatible operation: its tag, its two ways to give the key, and errors in OpenAI's body."""
    responses = {"200": ok, **c.errors(OpenAIErrorBody, *errors)}
    return {"operationId": operation_id, "summary": summary, "responses": responses, **OPENAI}


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    codes = (400, 401, 403, 404, 413, 415, 429, 503)
    return {
        "/v1/models": {"get": operation(c, "v1_models", "Models (OpenAI)", c.json(ModelList, "The models"), 401)},
        "/v1/models/{model}": {
            "get": operation(c, "v1_model", "One model; ids may hold slashes", c.json(Model, "The model"), 401, 404),
            "parameters": [path_parameter("model")],
        },
        "/v1/completions": {
            "post": {
                **operation(
                    c, "v1_completions", "A completion (OpenAI)", _answers(c, Completion, CompletionChunk), *codes
                ),
                "requestBody": _request(CompletionRequest, settings, c),
            }
        },
        "/v1/chat/completions": {
            "post": {
                **operation(
                    c,
                    "v1_chat_completions",
                    "A chat completion (OpenAI)",
                    _answers(c, ChatCompletion, ChatCompletionChunk),
                    *codes,
                ),
                "requestBody": _request(ChatCompletionRequest, settings, c),
            }
        },
    }


def _answers(c: Components, whole: type[BaseModel], chunk: type[BaseModel]) -> dict[str, Any]:
    streamed = sse(c.ref(chunk), ANSWERS, resumable=False)["content"]
    return {"description": ANSWERS, "content": {**c.json(whole, ANSWERS)["content"], **streamed}}


def _request(model: type[BaseModel], settings: ApiSettings, c: Components) -> dict[str, Any]:
    """The request model's schema, with this server's limits and defaults, and OpenAI's unimplemented
    parameters at the only values accepted. Other fields are not refused (they are ignored), so the
    document does not forbid them."""
    fields = c.fields(model)
    for name in ("max_tokens", "max_completion_tokens"):
        if name in fields:
            fields[name]["anyOf"][0]["maximum"] = settings.max_tokens_limit
    fields["model"]["default"] = settings.model_id
    for name, values in NEUTRAL.items():
        fields[name] = {"anyOf": [{"type": "null"} if value is None else {"const": value} for value in values]}
    return request_body("application/json", c.ref(model))
