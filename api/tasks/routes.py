"""POST /generate, GET /status/{id}, GET /result/{id}, POST /cancel/{id}: submit, then read (or cancel) your
own tasks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from pydantic import ValidationError

from contract.statuses import STATUS_MESSAGES, TaskStatus

from ..http.auth import require_api_key
from ..http.bodies import json_object, respond, validated
from ..http.errors import ApiError, invalid
from ..http.model_access import resolve_model
from ..http.rate_limit import counted_against_limit, counted_as_management
from ..services import services
from ..webhooks import targets
from .records import owned_task, result_body
from .schemas import GenerateRequest, QueuedResponse, StatusResponse
from .submission import submit, task_params

bp = Blueprint("tasks", __name__)

QUEUED_MESSAGE = "Your request is being processed. Use the task_id to check status."


def _parse() -> GenerateRequest:
    try:
        limit = {"max_tokens_limit": services().settings.max_tokens_limit}
        return GenerateRequest.model_validate(json_object(), context=limit)
    except ValidationError as error:
        raise invalid(error) from None


@bp.post("/generate")
@require_api_key
@validated(_parse)
@counted_against_limit
def generate(parsed: GenerateRequest) -> Any:
    model, registered = resolve_model(parsed.model)
    svc = services()
    params = task_params(
        svc.settings,
        registered,
        prompt=parsed.prompt,
        max_tokens=parsed.max_tokens,
        temperature=parsed.temperature,
        top_p=parsed.top_p,
        **parsed.sampling(),
    )
    callback = targets.check(parsed.callback_url, svc.settings) if parsed.callback_url else None
    task_id = submit(
        svc, owner=g.key_id, tenant=g.tenant, model=model, params=params, user_id=parsed.user_id, callback_url=callback
    )
    return respond(QueuedResponse(task_id=task_id, message=QUEUED_MESSAGE)), 202


@bp.get("/status/<task_id>")
@require_api_key
def status(task_id: str) -> Any:
    record = owned_task(task_id)
    message = STATUS_MESSAGES[record.status]
    if record.status is TaskStatus.FAILED:
        message = f"{message}: {record.error_type}: {record.error_message}"
    return respond(StatusResponse(status=record.status.value, task_id=task_id, message=message))


@bp.get("/result/<task_id>")
@require_api_key
def result(task_id: str) -> Any:
    return respond(result_body(owned_task(task_id)))


@bp.post("/cancel/<task_id>")
@require_api_key
@counted_as_management
def cancel(task_id: str) -> Any:
    """A queued task ends `cancelled` at once (200); a running one is asked to stop and ends `cancelled` at
    the engine's next step, its place in the batch freed (202); a finished one cannot be (409)."""
    store = services().store
    record = owned_task(task_id)
    if record.status is TaskStatus.QUEUED:
        record = store.cancel_if_queued(task_id) or record
    if record.status is TaskStatus.PROCESSING:
        store.request_cancel(task_id, by_owner=True)
        message = "Cancelling: the task stops at the engine's next step"
        return respond(StatusResponse(status=record.status.value, task_id=task_id, message=message)), 202
    if record.status is TaskStatus.CANCELLED:
        message = STATUS_MESSAGES[record.status]
        return respond(StatusResponse(status=record.status.value, task_id=task_id, message=message))
    raise ApiError(409, f"Task already {record.status.value}: it cannot be cancelled", field="task_id")
