"""POST /generate, GET /status/{id}, GET /result/{id}: submit, then read your own tasks."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, request
from pydantic import ValidationError

from workers.core import heartbeats, model_registry
from workers.core.contracts import STATUS_MESSAGES, TaskStatus
from workers.core.task_store import TaskRecord

from ..auth import require_api_key
from ..errors import ApiError
from ..rate_limit import current_limits, limiter
from ..responses import respond
from ..schemas import (
    CompletedResult,
    ErrorResult,
    GenerateRequest,
    PendingResult,
    QueuedResponse,
    StatusResponse,
    field_errors,
)
from ..services import services
from ..submission import submit

bp = Blueprint("tasks", __name__)

QUEUED_MESSAGE = "Your request is being processed. Use the task_id to check status."
MAX_TASK_ID_LENGTH = 64


@bp.post("/generate")
@require_api_key
@limiter.limit(current_limits)
def generate() -> Any:
    body = json_object()
    try:
        parsed = GenerateRequest.model_validate(
            body, context={"max_tokens_limit": services().settings.max_tokens_limit}
        )
    except ValidationError as error:
        errors = field_errors(error.errors())
        field, why = errors[0]["field"], errors[0]["message"]
        raise ApiError(400, f"Invalid {field}: {why}", field=field, errors=errors) from None
    model, registered = resolve_model(parsed.model)
    task_id = submit(services(), owner=g.key_id, request=parsed, model=model, registered=registered)
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
    record = owned_task(task_id)
    if record.status is TaskStatus.COMPLETED:
        return respond(CompletedResult(task_id=task_id, result=record.result or "", metrics=record.metrics))  # type: ignore[arg-type]
    if record.status is TaskStatus.FAILED:
        return respond(
            ErrorResult(task_id=task_id, error_message=record.error_message or "", error_type=record.error_type or "")
        )
    return respond(PendingResult(status=record.status.value, task_id=task_id, message=STATUS_MESSAGES[record.status]))


def json_object() -> dict[str, Any]:
    if request.mimetype and request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, f"Unsupported Content-Type {request.mimetype!r}: send application/json",
                       field="Content-Type")  # fmt: skip
    try:
        body = json.loads(request.get_data(), object_pairs_hook=_no_duplicate_keys)
    except DuplicateKeyError as error:
        raise ApiError(400, f"Invalid {error.key}: given more than once", field=error.key) from None
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, too many digits, nested too deep
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(400, f"Invalid JSON body: {reason}", field="body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid body: expected a JSON object", field="body")
    return body


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON parsers disagree on which of two equal keys wins; refuse the ambiguity instead of guessing."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(key)
        found[key] = value
    return found


def resolve_model(
    requested: str | None, unknown_status: int = 400
) -> tuple[str, model_registry.RegisteredModel | None]:
    """The default model, one that a live worker serves, or one the operator runs (even at zero replicas:
    the request waits in its queue and the operator starts a worker); 403 if the key may not use it."""
    svc = services()
    default = svc.settings.model_id
    registered = model_registry.read(svc.redis)
    model = requested or default
    if model != default and model not in registered:
        available = heartbeats.loaded_models(heartbeats.live(svc.redis))
        if model not in available:
            choices = sorted({default, *available, *registered})
            raise ApiError(unknown_status, f"Invalid model: unknown model {model!r}; available: {choices}",
                           field="model", code="model_not_found")  # fmt: skip
    if not model_registry.may_use(g.key_digest, registered.get(model)):
        raise ApiError(403, f"This API key may not use model {model!r}", field="model")
    return model, registered.get(model)


def owned_task(task_id: str) -> TaskRecord:
    """Another key's task is reported exactly like a missing one."""
    record = services().store.get(task_id) if len(task_id) <= MAX_TASK_ID_LENGTH else None
    if record is None or record.owner != g.key_id:
        raise ApiError(404, "Task not found")
    return record
