"""The Batch API's part of the OpenAPI document (/v1/files, /v1/batches), in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, content, path_parameter, request_body
from ..openai.openapi import operation
from ..settings import ApiSettings
from .creation import BatchCreateRequest
from .shapes import BatchList, BatchObject, DeletedFile, FileObject

UPLOAD = {
    "type": "object",
    "required": ["file", "purpose"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "JSON lines, one request each"},
        "purpose": {"const": "batch"},
    },
}
LISTING = [
    {"name": "after", "in": "query", "required": False, "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    file, batch = c.json(FileObject, "The file"), c.json(BatchObject, "The batch")
    upload = f"Upload a batch input file (at most {settings.batch_max_file_bytes} bytes)"
    lines = content("application/jsonl", {"type": "string"}, "The file")
    return {
        "/v1/files": {
            "post": {
                **operation(c, "v1_files_create", upload, file, 400, 401, 413, 415, 503),
                "requestBody": request_body("multipart/form-data", UPLOAD),
            }
        },
        "/v1/files/{file_id}": {
            "get": operation(c, "v1_files_retrieve", "A file", file, 401, 404, 503),
            "delete": operation(c, "v1_files_delete", "Delete a file", c.json(DeletedFile, "Deleted"), 401, 404, 503),
            "parameters": [path_parameter("file_id")],
        },
        "/v1/files/{file_id}/content": {
            "get": operation(c, "v1_files_content", "A file's content", lines, 401, 404, 503),
            "parameters": [path_parameter("file_id")],
        },
        "/v1/batches": {
            "post": {
                **operation(c, "v1_batches_create", "Create a batch from an uploaded file", batch, *_CREATE_ERRORS),
                "requestBody": request_body("application/json", c.ref(BatchCreateRequest)),
            },
            "get": {
                **operation(
                    c,
                    "v1_batches_list",
                    "This key's batches, newest first",
                    c.json(BatchList, "The batches"),
                    400,
                    401,
                    503,
                ),
                "parameters": LISTING,
            },
        },
        "/v1/batches/{batch_id}": {
            "get": operation(c, "v1_batches_retrieve", "A batch", batch, 401, 404, 503),
            "parameters": [path_parameter("batch_id")],
        },
        "/v1/batches/{batch_id}/cancel": {
            "post": operation(c, "v1_batches_cancel", "Cancel a batch", batch, 401, 404, 409, 503),
            "parameters": [path_parameter("batch_id")],
        },
    }


_CREATE_ERRORS = (400, 401, 403, 404, 413, 415, 429, 503)
