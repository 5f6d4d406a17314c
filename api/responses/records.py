"""A response's task record, as a key may see it: its own only; another key's is answered like a missing one."""

from __future__ import annotations

from flask import g

from contract.task_store import TaskRecord

from ..http.errors import ApiError
from ..services import services
from ..tasks.records import MAX_TASK_ID_LENGTH
from .shapes import task_id_of


def owned_response(response_id: str, field: str | None = None) -> TaskRecord:
    task_id = task_id_of(response_id)
    record = services().store.get(task_id) if task_id and len(task_id) <= MAX_TASK_ID_LENGTH else None
    if record is None or record.owner != g.key_id or record.response is None or not record.response.get("store", True):
        raise ApiError(404, f"No response {response_id!r}", field=field)
    return record
