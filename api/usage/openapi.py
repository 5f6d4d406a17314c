"""The usage API's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components
from ..openai.openapi import operation
from ..settings import ApiSettings
from .routes import UsageQuery
from .shapes import UsagePage


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    fields = UsageQuery.model_json_schema()["properties"]
    parameters = [
        {"name": name, "in": "query", "required": name == "start_time", "schema": schema}
        for name, schema in fields.items()
    ]
    summary = "Tokens and requests in time buckets (OpenAI's usage API): a key's own, every key's for an admin key"
    return {
        "/v1/organization/usage/completions": {
            "get": {
                **operation(c, "v1_usage_completions", summary, c.json(UsagePage, "The buckets"), 400, 401, 503),
                "parameters": parameters,
            }
        }
    }
