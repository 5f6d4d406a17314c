"""What every feature's part of the OpenAPI document is written with: schemas taken from the pydantic models
that validate requests and shape responses (never written by hand), and each error status described once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

REF = "#/components/schemas/{model}"
ERRORS = {
    400: "Invalid JSON or parameter; the field at fault is named (`field`, on /v1 `param`)",
    401: "Missing or invalid API key",
    403: "The API key may not use this model (its LLMModel lists other keys)",
    404: "Not found: an unknown task, model, file or batch, or one that belongs to another key",
    409: "Already finished (or, for a batch, not in progress), so it cannot be cancelled",
    413: "Body larger than MAX_REQUEST_BYTES (for a file, BATCH_MAX_FILE_BYTES)",
    415: "Content-Type other than application/json (for a file, multipart/form-data)",
    429: "Rate limit exceeded, or (batches) BATCH_MAX_OPEN batches open; see Retry-After",
    503: "Redis unreachable, or the model's queue is full (MAX_QUEUE_LENGTH); see Retry-After",
}


@dataclass(frozen=True)
class Operation:
    """One row of a feature's table of operations."""

    method: str
    path: str
    operation_id: str
    summary: str
    ok: dict[str, Any]
    """the answer when all goes well (a `content`)"""
    errors: tuple[int, ...] = ()
    status: str = "200"
    more: dict[str, Any] = field(default_factory=dict)
    """its other keys: requestBody, parameters, security, description"""


class Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        """Puts a model's schema (and those it uses) in the document's components, once; returns its $ref."""
        if model.__name__ not in self.schemas:
            schema = model.model_json_schema(ref_template=REF)
            self.schemas.update(
                {name: found for name, found in schema.pop("$defs", {}).items() if name not in self.schemas}
            )
            self.schemas[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}

    def fields(self, model: type[BaseModel]) -> dict[str, Any]:
        """A model's properties in the document, to write this server's limits and defaults in."""
        self.ref(model)
        found: dict[str, Any] = self.schemas[model.__name__]["properties"]
        return found

    def json(self, model: type[BaseModel], description: str) -> dict[str, Any]:
        return content("application/json", self.ref(model), description)

    def errors(self, body: type[BaseModel], *codes: int) -> dict[str, Any]:
        return {str(code): self.json(body, ERRORS[code]) for code in codes}

    def paths(self, error_body: type[BaseModel], common: dict[str, Any], *table: Operation) -> dict[str, Any]:
        """The document's paths for a table of operations: each with `common` (tags, security) unless it says
        otherwise, its errors in `error_body`, and the parameters its path names."""
        found: dict[str, Any] = {}
        for row in table:
            item = found.setdefault(row.path, {})
            if names := re.findall(r"{(\w+)}", row.path):
                item["parameters"] = [path_parameter(name) for name in names]
            responses = {row.status: row.ok, **self.errors(error_body, *row.errors)}
            heading = {"operationId": row.operation_id, "summary": row.summary}
            item[row.method] = {**heading, **common, **row.more, "responses": responses}
        return found


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query's parameters from the model that reads it; one left out reads as its default, never as null."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _given(field)}
        for name, field in schema["properties"].items()
    ]


def _given(field: dict[str, Any]) -> dict[str, Any]:
    options = [option for option in field.get("anyOf", []) if option != {"type": "null"}]
    if len(options) != 1:
        return field
    rest = {key: value for key, value in field.items() if key != "anyOf" and (key, value) != ("default", None)}
    return {**options[0], **rest}


def content(media_type: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def request_body(media_type: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"required": True, **content(media_type, schema, description)}


def sse(data: dict[str, Any], description: str, resumable: bool = True) -> dict[str, Any]:
    """A stream of Server-Sent Events whose data lines hold the JSON that `data` describes (with an id to
    resume from when `resumable`)."""
    properties: dict[str, Any] = {
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data}
    }
    if resumable:
        properties["id"] = {"type": "string", "description": "a Redis stream id; send it back as Last-Event-ID"}
        properties["event"] = {"type": "string"}
    return content("text/event-stream", {"type": "object", "required": ["data"], "properties": properties}, description)


def path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
