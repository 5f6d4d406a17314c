"""A body checked against its schema in the OpenAPI document, references resolved within the document; a key
the schema does not name fails too, so a body cannot drift from its documented model either way."""

from __future__ import annotations

from typing import Any

import jsonschema


def conforms(spec: dict[str, Any], model: str, body: Any) -> None:
    closed = {name: _closed(schema) for name, schema in spec["components"]["schemas"].items()}
    schema = {"$ref": f"#/components/schemas/{model}", "components": {"schemas": closed}}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


def _closed(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    found = {key: _closed(value) for key, value in schema.items()}
    if "properties" in found and "additionalProperties" not in found:
        found["additionalProperties"] = False
    return found
