"""POST /v1/batches: the request checked, every line of its file planned (or the file refused, naming its
bad lines), then the batch written and each line queued on its model's offline queue as a task."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract import stored_bytes
from contract.batch_results import BatchLine
from contract.dramatiq_internals import enqueue_task
from contract.model_registry import RegisteredModel
from contract.statuses import BatchStatus

from ..http.errors import ApiError
from ..http.model_access import resolve_model
from ..openai.planning import Endpoint
from ..services import Services
from ..tasks.submission import check_stored_bytes
from ..webhooks import targets
from .files import BATCH_PURPOSE
from .input_lines import PlannedLine, plan
from .output import line_plan
from .services import BatchServices
from .shapes import BatchError, BatchErrors
from .store import Batch, NewBatch

logger = logging.getLogger(__name__)
MAX_METADATA_PAIRS = 16


class BatchCreateRequest(BaseModel):
    """OpenAI's fields; others (such as output_expires_after) are ignored, as the /v1 routes do."""

    model_config = ConfigDict(extra="ignore")
    input_file_id: str = Field(min_length=1, max_length=64)
    endpoint: Endpoint
    completion_window: Literal["24h"]
    metadata: dict[str, str] | None = Field(None, max_length=MAX_METADATA_PAIRS)


def create_batch(svc: Services, bsvc: BatchServices, owner: str, tenant: str, request: BatchCreateRequest) -> Batch:
    """The batch, its lines queued on the offline lane; their usage counts for the key's tenant (the lane has no
    token budget of its own: it runs in the room that interactive requests leave)."""
    stored = bsvc.files.get(owner, request.input_file_id)
    if stored is None:
        raise ApiError(404, f"No file {request.input_file_id!r}", field="input_file_id")
    if stored.purpose != BATCH_PURPOSE:
        raise ApiError(
            400, f"Invalid input_file_id: its purpose is {stored.purpose!r}, not 'batch'", field="input_file_id"
        )
    callback = (request.metadata or {}).get("callback_url")
    if callback is not None:
        targets.check(callback, svc.settings, field="metadata.callback_url")
    batch_id = bsvc.batches.reserve(owner, svc.settings.batch_max_open)
    if batch_id is None:
        raise ApiError(
            429,
            f"Too many open batches: this key has {svc.settings.batch_max_open} (BATCH_MAX_OPEN); "
            "wait for one to finish or cancel one",
            field="input_file_id",
            code="batch_limit_exceeded",
        )
    try:
        content = bsvc.files.content(owner, request.input_file_id) or ""
        planned = plan(content, request.endpoint, svc.settings, _resolver())
        check_stored_bytes(svc, owner, sum(stored_bytes.record_bytes(line.choice.params) for line in planned))
    except Exception:
        bsvc.batches.release(owner, batch_id)  # refused (or Redis failed): it never opened
        raise
    new = NewBatch(
        owner, request.endpoint, request.input_file_id, request.completion_window, request.metadata, callback
    )
    return _queue(svc, bsvc, batch_id, new, planned, tenant)


def _resolver() -> Any:
    """resolve_model, once per model name for the whole file."""
    known: dict[str | None, tuple[str, RegisteredModel | None]] = {}

    def resolve(name: str | None) -> tuple[str, RegisteredModel | None]:
        if name not in known:
            known[name] = resolve_model(name, unknown_status=404)
        return known[name]

    return resolve


def _queue(
    svc: Services, bsvc: BatchServices, batch_id: str, new: NewBatch, planned: list[PlannedLine], tenant: str
) -> Batch:
    task_ids = [str(uuid.uuid4()) for _ in planned]
    plans = [
        line_plan(line.custom_id, task_id, line.model, line.shape, line.choice)
        for line, task_id in zip(planned, task_ids, strict=True)
    ]
    batch = bsvc.batches.create(batch_id, replace(new, lines=plans))
    queued: list[str] = []
    try:
        for index, (line, task_id) in enumerate(zip(planned, task_ids, strict=True)):
            where = BatchLine(batch.batch_id, index)
            bsvc.line_store.create(
                task_id,
                owner=new.owner,
                model=line.model,
                params=line.choice.params,
                user_id=None,
                batch_line=where,
                tenant=tenant,
            )
            enqueue_task(svc.broker, line.model, task_id, offline=True)
            queued.append(task_id)
    except Exception as error:
        # Redis failed part-way: the batch says so and the lines already queued stop at their first check.
        for task_id in queued:
            bsvc.line_store.request_cancel(task_id)
        why = f"the batch's lines could not all be queued: {error}"
        reason = BatchErrors(data=[BatchError(code="queueing_failed", message=why, line=len(queued) + 1)])
        bsvc.batches.move(batch, BatchStatus.FAILED, errors=reason.model_dump_json())
        raise
    logger.info("batch %s: %d lines queued (key %s)", batch.batch_id, len(queued), new.owner)
    # None only when the supervisor took this creation for dead (it took longer than RESERVATION_SECONDS)
    return bsvc.batches.move(batch, BatchStatus.IN_PROGRESS) or bsvc.batches.get(batch.batch_id) or batch
