"""The OpenAPI 3.1 document, assembled from each feature's own part; every schema in it comes from the
pydantic models that validate the requests and shape the responses."""

from __future__ import annotations

from typing import Any

from ..batches import openapi as batches
from ..embeddings import openapi as embeddings
from ..http import openapi as probes
from ..http.auth import API_KEY_HEADER, API_KEY_QUERY
from ..openai import openapi as openai
from ..responses import openapi as responses
from ..settings import ApiSettings
from ..tasks import openapi as tasks
from ..usage import openapi as usage
from ..version import VERSION
from ..webhooks import openapi as webhooks
from .components import Components

PARTS = (probes, tasks, openai, batches, usage, responses, embeddings, webhooks)
SECURITY = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": API_KEY_QUERY},
    "BearerAuth": {"type": "http", "scheme": "bearer"},
}


def build_spec(settings: ApiSettings) -> dict[str, Any]:
    c = Components()
    paths: dict[str, Any] = {}
    for part in PARTS:
        paths |= part.paths(settings, c)
    return {
        "openapi": "3.1.0",
        "info": {"title": "LLM inference service", "version": VERSION},
        "paths": paths,
        "components": {"schemas": c.schemas, "securitySchemes": SECURITY},
    }
