"""The Batch API's part of the OpenAPI document (/v1/files, /v1/batches), in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

from ..docs.components import Components, Operation, content, query_parameters, request_body
from ..http.errors import OpenAIErrorBody
from ..openai.openapi import OPENAI
from ..settings import ApiSettings
from .creation import BatchCreateRequest
from .shapes import BatchList, BatchListQuery, BatchObject, DeletedFile, FileList, FileListQuery, FileObject, FileUpload

CREATE, LIST = "Create a batch from an uploaded file", "This key's batches, newest first"
FILE_LIST = "This key's files, newest first unless order=asc"
FILES = "/v1/files/{file_id}"
BATCH = "/v1/batches/{batch_id}"
CREATE_ERRORS = (400, 401, 403, 404, 413, 415, 429, 503)
UPLOAD_ERRORS = (400, 401, 413, 415, 503)
BY_ID = (401, 404, 503)


def paths(settings: ApiSettings, c: Components) -> dict[str, Any]:
    file, batch = c.json(FileObject, "The file"), c.json(BatchObject, "The batch")
    batches = c.json(BatchList, "The batches")
    deleted, lines = c.json(DeletedFile, "Deleted"), content("application/jsonl", {"type": "string"}, "The file")
    upload = f"Upload a batch input file (at most {settings.batch_max_file_bytes} bytes)"
    form = {"requestBody": request_body("multipart/form-data", c.ref(FileUpload))}
    created = {"requestBody": request_body("application/json", c.ref(BatchCreateRequest))}
    listing = {"parameters": query_parameters(BatchListQuery)}
    files, file_listing = c.json(FileList, "The files"), {"parameters": query_parameters(FileListQuery)}
    return c.paths(
        OpenAIErrorBody,
        OPENAI,
        Operation("post", "/v1/files", "v1_files_create", upload, file, UPLOAD_ERRORS, more=form),
        Operation("get", "/v1/files", "v1_files_list", FILE_LIST, files, (400, 401, 503), more=file_listing),
        Operation("get", FILES, "v1_files_retrieve", "A file", file, BY_ID),
        Operation("delete", FILES, "v1_files_delete", "Delete a file", deleted, BY_ID),
        Operation("get", f"{FILES}/content", "v1_files_content", "A file's content", lines, BY_ID),
        Operation("post", "/v1/batches", "v1_batches_create", CREATE, batch, CREATE_ERRORS, more=created),
        Operation("get", "/v1/batches", "v1_batches_list", LIST, batches, (400, 401, 503), more=listing),
        Operation("get", BATCH, "v1_batches_retrieve", "A batch", batch, BY_ID),
        Operation("post", f"{BATCH}/cancel", "v1_batches_cancel", "Cancel a batch", batch, (401, 404, 409, 503)),
    )
