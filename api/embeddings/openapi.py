"""POST /v1/embeddings' part of the OpenAPI document, in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation, request_body
from ..http.errors import OpenAIErrorBody
from ..openai.openapi import OPENAI
from ..settings import ApiSettings
from .protocol import EmbeddingRequest
from .shapes import EmbeddingList

SUMMARY = "Embeddings of one input or many (OpenAI): pooled hidden states, unit length"
ERRORS = (400, 401, 403, 404, 413, 415, 429, 503)


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    body = {"requestBody": request_body("application/json", c.ref(EmbeddingRequest))}
    answer = c.json(EmbeddingList, "The embeddings, in input order")
    return c.paths(
        OpenAIErrorBody,
        OPENAI,
        Operation("post", "/v1/embeddings", "v1_embeddings", SUMMARY, answer, ERRORS, more=body),
    )
