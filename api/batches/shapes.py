"""The Batch API's objects in OpenAI's shapes (files, batches, their lists; the upload form and the listing's
query), as the routes read and send them and /openapi.json documents them. Every key is sent, null included,
as OpenAI does, except a batch error's `line` and `param` where they do not apply."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from contract.statuses import BatchStatus

from ..openai.shapes import OpenAIObject

MAX_LIST_LIMIT = 100
MAX_FILE_LIST_LIMIT = 10_000
"""OpenAI's bound (and default) for a page of files"""


class FileUpload(BaseModel):
    """The multipart form of POST /v1/files (read by the route itself; this model documents it)."""

    file: str = Field(json_schema_extra={"format": "binary"}, description="JSON lines, one request each")
    purpose: Literal["batch"]


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int
    filename: str
    purpose: Literal["batch", "batch_output"]
    status: Literal["processed"] = "processed"
    status_details: str | None = None


class FileListQuery(BaseModel):
    """GET /v1/files' query, as OpenAI's: files of one purpose, oldest or newest first, from a cursor."""

    model_config = {"extra": "forbid"}

    purpose: Literal["batch", "batch_output"] | None = None
    limit: int = Field(MAX_FILE_LIST_LIMIT, ge=1, le=MAX_FILE_LIST_LIMIT)
    order: Literal["asc", "desc"] = Field("desc", description="by creation time")
    after: str | None = Field(None, description="the last file id of the page before")


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DeletedFile(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: Literal[True] = True


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchError(OpenAIObject):
    omitted_when_none = frozenset({"param", "line"})

    code: str
    message: str
    param: str | None = None
    line: int | None = None


class BatchErrors(OpenAIObject):
    """Why a batch failed as a whole (its lines' own errors are in its error file)."""

    object: Literal["list"] = "list"
    data: list[BatchError]


class BatchObject(BaseModel):
    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    errors: BatchErrors | None
    input_file_id: str
    completion_window: Literal["24h"]
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    expires_at: int
    in_progress_at: int | None
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None
    cancelling_at: int | None
    cancelled_at: int | None
    request_counts: RequestCounts
    metadata: dict[str, str] | None


class BatchListQuery(BaseModel):
    """GET /v1/batches' query: OpenAI's cursor (the last batch id of the page before) and page size."""

    after: str | None = None
    limit: int = Field(20, ge=1, le=MAX_LIST_LIMIT)


class BatchList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchObject]
    first_id: str | None
    last_id: str | None
    has_more: bool
