"""OpenAI's Files API, for the Batch API: upload a batch input file, list the key's files, read a file's
object or its content, delete it. A key sees its own files only; another key's file is answered 404, like a
missing one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request
from pydantic import ValidationError

from ..http.auth import require_api_key
from ..http.bodies import respond, validated
from ..http.errors import ApiError, invalid
from ..http.rate_limit import counted_as_management
from ..services import services
from .files import BATCH_PURPOSE, StoredFile
from .input_lines import checked_upload
from .services import batch_services
from .shapes import DeletedFile, FileList, FileListQuery

bp = Blueprint("files", __name__, url_prefix="/v1")
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries, headers and the purpose field around the file


@bp.post("/files")
@require_api_key
@counted_as_management
def upload() -> Any:
    with batch_services().uploads.hold(g.key_id):
        return _upload()


def _upload() -> Any:
    svc = services()
    limit = svc.settings.batch_max_file_bytes
    request.max_content_length = limit + FORM_OVERHEAD_BYTES  # this route only: the app-wide cap is for JSON
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD_BYTES:
        raise ApiError(413, f"Invalid file: larger than BATCH_MAX_FILE_BYTES ({limit} bytes)", field="file")
    if not request.mimetype.startswith("multipart/form-data"):
        raise ApiError(415, "Unsupported Content-Type: send multipart/form-data with file and purpose", field="file")
    purpose = request.form.get("purpose")
    if purpose != BATCH_PURPOSE:
        raise ApiError(400, f"Invalid purpose: {purpose!r}; this service takes 'batch' files only", field="purpose")
    sent = request.files.get("file")
    if sent is None:
        raise ApiError(400, "Invalid file: a file is required", field="file")
    content = checked_upload(sent.stream, svc.settings)
    most = svc.settings.batch_max_stored_bytes
    filename = sent.filename or "upload.jsonl"
    stored = batch_services().files.create(
        owner=g.key_id, filename=filename, purpose=purpose, content=content, most_bytes=most
    )
    if stored is None:
        raise ApiError(
            429,
            f"Storage full: this key's files would hold more than BATCH_MAX_STORED_BYTES ({most} bytes); "
            "delete files it no longer needs",
            field="file",
            code="storage_limit_exceeded",
        )
    return respond(stored.as_openai(), nulls=True)


def _file_query() -> FileListQuery:
    try:
        return FileListQuery.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise invalid(error) from None


@bp.get("/files")
@require_api_key
@validated(_file_query)
def listed(query: FileListQuery) -> Any:
    """As OpenAI's files.list: the key's files, newest first by default, a page at a time (`after`)."""
    found, more = batch_services().files.listed(
        g.key_id, purpose=query.purpose, newest_first=query.order == "desc", after=query.after, limit=query.limit
    )
    data = [stored.as_openai() for stored in found]
    first, last = (data[0].id, data[-1].id) if data else (None, None)
    return respond(FileList(data=data, first_id=first, last_id=last, has_more=more), nulls=True)


@bp.get("/files/<file_id>")
@require_api_key
def retrieve(file_id: str) -> Any:
    return respond(_owned(file_id).as_openai(), nulls=True)


@bp.get("/files/<file_id>/content")
@require_api_key
def content(file_id: str) -> Any:
    found = batch_services().files.content(g.key_id, file_id)
    if found is None:
        raise _missing(file_id)
    return Response(found, mimetype="application/jsonl")


@bp.delete("/files/<file_id>")
@require_api_key
@counted_as_management
def delete(file_id: str) -> Any:
    if not batch_services().files.delete(g.key_id, file_id):
        raise _missing(file_id)
    return respond(DeletedFile(id=file_id), nulls=True)


def _owned(file_id: str) -> StoredFile:
    found = batch_services().files.get(g.key_id, file_id)
    if found is None:
        raise _missing(file_id)
    return found


def _missing(file_id: str) -> ApiError:
    return ApiError(404, f"No file {file_id!r}", field="file_id")
