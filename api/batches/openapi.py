"""The Batch API's routes in the OpenAPI document (/v1/files, /v1/batches), in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from ..openai.openapi import Components, json_body, operation
from ..settings import ApiSettings
from .creation import BatchCreateRequest

STAMP = {"type": ["integer", "null"]}
FILE = {
    "type": "object",
    "required": ["id", "object", "bytes", "created_at", "filename", "purpose", "status"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "file"},
        "bytes": {"type": "integer"},
        "created_at": {"type": "integer"},
        "expires_at": {"type": "integer"},
        "filename": {"type": "string"},
        "purpose": {"enum": ["batch", "batch_output"]},
        "status": {"type": "string"},
        "status_details": {"type": ["string", "null"]},
    },
}
DELETED = {
    "type": "object",
    "required": ["id", "object", "deleted"],
    "properties": {"id": {"type": "string"}, "object": {"const": "file"}, "deleted": {"type": "boolean"}},
}
BATCH = {
    "type": "object",
    "required": [
        "id",
        "object",
        "endpoint",
        "input_file_id",
        "completion_window",
        "status",
        "created_at",
        "request_counts",
    ],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "batch"},
        "endpoint": {"type": "string"},
        "errors": {"type": ["object", "null"]},
        "input_file_id": {"type": "string"},
        "completion_window": {"const": "24h"},
        "status": {
            "enum": [
                "validating",
                "failed",
                "in_progress",
                "finalizing",
                "completed",
                "expired",
                "cancelling",
                "cancelled",
            ]
        },
        "output_file_id": {"type": ["string", "null"]},
        "error_file_id": {"type": ["string", "null"]},
        "created_at": {"type": "integer"},
        "expires_at": {"type": "integer"},
        **{
            name: STAMP
            for name in (
                "in_progress_at",
                "finalizing_at",
                "completed_at",
                "failed_at",
                "expired_at",
                "cancelling_at",
                "cancelled_at",
            )
        },
        "request_counts": {
            "type": "object",
            "required": ["total", "completed", "failed"],
            "properties": {name: {"type": "integer"} for name in ("total", "completed", "failed")},
        },
        "metadata": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
    },
}
BATCHES = {
    "type": "object",
    "required": ["object", "data", "has_more"],
    "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": BATCH},
        "first_id": {"type": ["string", "null"]},
        "last_id": {"type": ["string", "null"]},
        "has_more": {"type": "boolean"},
    },
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def batch_paths(settings: ApiSettings, components: Components) -> dict[str, Any]:
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "JSON lines, one request each"},
                        "purpose": {"const": "batch"},
                    },
                }
            }
        },
    }
    create = {"required": True, "content": {"application/json": {"schema": components.ref(BatchCreateRequest)}}}
    file_id, batch_id = [_path("file_id")], [_path("batch_id")]
    listing = [
        {"name": "after", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    ]
    content = {"200": {"description": "The file", "content": {"application/jsonl": {"schema": {"type": "string"}}}}}
    return {
        "/v1/files": {
            "post": operation(
                "v1_files_create",
                f"Upload a batch input file (at most {settings.batch_max_file_bytes} bytes)",
                {"200": json_body(FILE, "The file")},
                [400, 401, 413, 415, 503],
                upload,
            )
        },
        "/v1/files/{file_id}": {
            "get": operation("v1_files_retrieve", "A file", {"200": json_body(FILE, "The file")}, [401, 404, 503]),
            "delete": operation(
                "v1_files_delete", "Delete a file", {"200": json_body(DELETED, "Deleted")}, [401, 404, 503]
            ),
            "parameters": file_id,
        },
        "/v1/files/{file_id}/content": {
            "get": operation("v1_files_content", "A file's content", content, [401, 404, 503]),
            "parameters": file_id,
        },
        "/v1/batches": {
            "post": operation(
                "v1_batches_create",
                "Create a batch from an uploaded file",
                {"200": json_body(BATCH, "The batch, in progress")},
                [400, 401, 403, 404, 413, 415, 429, 503],
                create,
            ),
            "get": {
                **operation(
                    "v1_batches_list",
                    "This key's batches, newest first",
                    {"200": json_body(BATCHES, "The batches")},
                    [400, 401, 503],
                ),
                "parameters": listing,
            },
        },
        "/v1/batches/{batch_id}": {
            "get": operation("v1_batches_retrieve", "A batch", {"200": json_body(BATCH, "The batch")}, [401, 404, 503]),
            "parameters": batch_id,
        },
        "/v1/batches/{batch_id}/cancel": {
            "post": operation(
                "v1_batches_cancel",
                "Cancel a batch",
                {"200": json_body(BATCH, "The batch, cancelling")},
                [401, 404, 409, 503],
            ),
            "parameters": batch_id,
        },
    }
