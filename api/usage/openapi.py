"""The usage API's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation, query_parameters
from ..http.errors import OpenAIErrorBody
from ..openai.openapi import OPENAI
from ..settings import ApiSettings
from .routes import UsageQuery
from .shapes import UsagePage

SUMMARY = "Tokens and requests in time buckets (OpenAI's usage API): a key's own, every key's for an admin key"


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    page, more = c.json(UsagePage, "The buckets"), {"parameters": query_parameters(UsageQuery)}
    path = "/v1/organization/usage/completions"
    return c.paths(
        OpenAIErrorBody, OPENAI, Operation("get", path, "v1_usage", SUMMARY, page, (400, 401, 503), more=more)
    )
