"""OpenAI's Batch API: create a batch from an uploaded file, retrieve it, list a key's batches, cancel one.
A batch belongs to the key that created it; any other key is answered 404, as for a missing batch. These
routes are not counted against the interactive rate limit: batch work has its own bounds (BATCH_MAX_*)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from pydantic import ValidationError

from contract.statuses import BatchStatus

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError, invalid
from ..http.rate_limit import counted_as_management
from ..services import services
from .creation import BatchCreateRequest, create_batch
from .services import batch_services
from .shapes import MAX_LIST_LIMIT, BatchList, BatchListQuery
from .store import Batch

bp = Blueprint("batches", __name__, url_prefix="/v1")


def _parse() -> BatchCreateRequest:
    try:
        return BatchCreateRequest.model_validate(json_object())
    except ValidationError as error:
        raise invalid(error) from None


@bp.post("/batches")
@require_api_key
@validated(_parse)
@counted_as_management
def create(parsed: BatchCreateRequest) -> Any:
    return respond(create_batch(services(), batch_services(), g.key_id, g.tenant.name, parsed).as_openai(), nulls=True)


@bp.get("/batches/<batch_id>")
@require_api_key
def retrieve(batch_id: str) -> Any:
    return respond(_owned(batch_id).as_openai(), nulls=True)


def _listing() -> BatchListQuery:
    limit = request.args.get("limit")
    try:
        if limit is None or limit.isdigit():  # not "+5", " 5" or "5.0", which int() would take
            return BatchListQuery(after=request.args.get("after"), **({} if limit is None else {"limit": int(limit)}))
    except ValueError:  # out of range (pydantic's ValidationError), or a digit int() does not read ("²")
        pass
    raise ApiError(400, f"Invalid limit: a whole number from 1 to {MAX_LIST_LIMIT}", field="limit")


@bp.get("/batches")
@require_api_key
@validated(_listing)
def listed(query: BatchListQuery) -> Any:
    found, more = batch_services().batches.listed(g.key_id, query.after, query.limit)
    data = [batch.as_openai() for batch in found]
    first, last = (data[0].id, data[-1].id) if data else (None, None)
    return respond(BatchList(data=data, first_id=first, last_id=last, has_more=more), nulls=True)


@bp.post("/batches/<batch_id>/cancel")
@require_api_key
@counted_as_management
def cancel(batch_id: str) -> Any:
    """The batch turns `cancelling` at once; lines not yet answered are closed and the batch ends
    `cancelled` within a second or so, with the answers it had in its output file."""
    batch = _owned(batch_id)
    if batch.status is BatchStatus.CANCELLING:
        return respond(batch.as_openai(), nulls=True)
    moved = (
        batch_services().batches.move(batch, BatchStatus.CANCELLING)
        if batch.status is BatchStatus.IN_PROGRESS
        else None
    )
    if moved is None:  # not in progress, or it ended between the read and the move
        found = _owned(batch_id)
        if found.status is BatchStatus.CANCELLING:
            return respond(found.as_openai(), nulls=True)
        raise ApiError(409, f"Cannot cancel a batch that is {found.status.value}", field="batch_id")
    return respond(moved.as_openai(), nulls=True)


def _owned(batch_id: str) -> Batch:
    found = batch_services().batches.owned(g.key_id, batch_id)
    if found is None:
        raise ApiError(404, f"No batch {batch_id!r}", field="batch_id")
    return found
