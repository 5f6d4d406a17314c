"""A task's result body, as GET /result/{id} answers it and a webhook sends it."""

from __future__ import annotations

from pydantic import BaseModel

from contract.statuses import STATUS_MESSAGES, TaskStatus
from contract.task_store import TaskRecord

from .schemas import CompletedResult, ErrorResult, PendingResult


def result_body(record: TaskRecord) -> BaseModel:
    if record.status is TaskStatus.COMPLETED:
        return CompletedResult(task_id=record.task_id, result=record.result or "", metrics=record.metrics)  # type: ignore[arg-type]
    if record.status is TaskStatus.FAILED:
        return ErrorResult(
            task_id=record.task_id, error_message=record.error_message or "", error_type=record.error_type or ""
        )
    return PendingResult(status=record.status.value, task_id=record.task_id, message=STATUS_MESSAGES[record.status])
