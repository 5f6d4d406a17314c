"""GET /webhook-secret's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation
from ..http.errors import ErrorBody
from ..settings import ApiSettings
from .routes import WebhookSecret

SUMMARY = "This key's webhook signing secret (each key has its own), to verify the webhooks it asked for"


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    found = c.json(WebhookSecret, "The secret")
    return c.paths(
        ErrorBody,
        {"tags": ["Webhooks"], "security": [{"ApiKeyHeader": []}]},
        Operation("get", "/webhook-secret", "webhook_secret", SUMMARY, found, (401, 404)),
    )
