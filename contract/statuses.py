"""A task's life: queued, processing, then completed, failed or cancelled (the values clients see)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """its owner cancelled it (POST /cancel/{task_id})"""


FINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
STATUS_MESSAGES = {
    TaskStatus.QUEUED: "Task is waiting in the queue",
    TaskStatus.PROCESSING: "Task is currently being processed",
    TaskStatus.COMPLETED: "Task completed successfully",
    TaskStatus.FAILED: "Task failed",
    TaskStatus.CANCELLED: "Task cancelled",
}


class BatchStatus(StrEnum):
    """OpenAI's batch statuses, in the order a batch moves through them."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


FINAL_BATCH_STATUSES = frozenset(
    {BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)
