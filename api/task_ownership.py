"""A key sees its own tasks only."""

from __future__ import annotations

from flask import g

from contract.task_store import TaskRecord

from .errors import ApiError
from .services import services

MAX_TASK_ID_LENGTH = 64


def owned_task(task_id: str) -> TaskRecord:
    """Another key's task is reported exactly like a missing one."""
    record = services().store.get(task_id) if len(task_id) <= MAX_TASK_ID_LENGTH else None
    if record is None or record.owner != g.key_id:
        raise ApiError(404, "Task not found")
    return record
