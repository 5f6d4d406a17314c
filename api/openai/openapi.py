"""The /v1 routes' part of the OpenAPI document: requests as this service accepts them (OpenAI's parameters
it does not implement only at their neutral values), responses and errors in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..docs.components import Components, Operation, request_body, sse
from ..http.errors import OpenAIErrorBody
from ..settings import ApiSettings
from .protocol import NEUTRAL, ChatCompletionRequest, CompletionRequest
from .shapes import ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk, Model, ModelList

OPENAI: dict[str, Any] = {"tags": ["OpenAI-compatible"], "security": [{"BearerAuth": []}, {"ApiKeyHeader": []}]}
GENERATION_ERRORS = (400, 401, 403, 404, 413, 415, 429, 503)
ANSWERS = "The completion, or when `stream` is true its chunks, ending with `data: [DONE]`"


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    completion = _answers(c, Completion, CompletionChunk) | _request(CompletionRequest, settings, c)
    chat = _answers(c, ChatCompletion, ChatCompletionChunk) | _request(ChatCompletionRequest, settings, c)
    models, one = c.json(ModelList, "The models"), c.json(Model, "The model")
    return c.paths(
        OpenAIErrorBody,
        OPENAI,
        Operation("get", "/v1/models", "v1_models", "Models (OpenAI)", models, (401,)),
        Operation("get", "/v1/models/{model}", "v1_model", "One model; ids may hold slashes", one, (401, 404)),
        Operation("post", "/v1/completions", "v1_completions", "A completion (OpenAI)", **completion),
        Operation("post", "/v1/chat/completions", "v1_chat_completions", "A chat completion (OpenAI)", **chat),
    )


def _answers(c: Components, whole: type[BaseModel], chunk: type[BaseModel]) -> dict[str, Any]:
    """A generation's answer: the whole object, or its chunks as events; and the errors it may end in."""
    streamed = sse(c.ref(chunk), ANSWERS, resumable=False)["content"]
    ok = {"description": ANSWERS, "content": {**c.json(whole, ANSWERS)["content"], **streamed}}
    return {"ok": ok, "errors": GENERATION_ERRORS}


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
    return {"more": {"requestBody": request_body("application/json", c.ref(model))}}
