"""A task's record as a key may see it: its own tasks only, and its result body (GET /result/{id} and
webhooks)."""

from __future__ import annotations

from flask import g
from pydantic import BaseModel

from contract.statuses import STATUS_MESSAGES, TaskStatus
from contract.task_store import TaskRecord

from ..http.errors import ApiError
from ..services import services
from .schemas import CancelledResult, CompletedResult, ErrorResult, PendingResult

MAX_TASK_ID_LENGTH = 64


def owned_task(task_id: str) -> TaskRecord:
    """Another key's task is reported exactly like a missing one."""
    record = services().store.get(task_id) if len(task_id) <= MAX_TASK_ID_LENGTH else None
    if record is None or record.owner != g.key_id:
        raise ApiError(404, "Task not found")
    return record


def result_body(record: TaskRecord) -> BaseModel:
    if record.status is TaskStatus.COMPLETED:
        return CompletedResult(task_id=record.task_id, result=record.result or "", metrics=record.metrics)  # type: ignore[arg-type]
    if record.status is TaskStatus.FAILED:
        return ErrorResult(
            task_id=record.task_id, error_message=record.error_message or "", error_type=record.error_type or ""
        )
    if record.status is TaskStatus.CANCELLED:
        return CancelledResult(task_id=record.task_id, message=STATUS_MESSAGES[record.status])
    return PendingResult(status=record.status.value, task_id=record.task_id, message=STATUS_MESSAGES[record.status])
