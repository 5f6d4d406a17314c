"""One JSON line per finished task in llm_requests.log: ids, model, parameters, tokens, timings, status;
never the prompt or the key."""

from __future__ import annotations

import json
import logging
from typing import Any

from contract.logging_setup import REQUEST_LOGGER
from contract.task_store import TaskRecord


def log_finished_task(record: TaskRecord) -> None:
    entry: dict[str, Any] = {
        "task_id": record.task_id,
        "key_id": record.owner,
        "user_id": record.user_id,
        "model": record.model,
        "status": record.status.value,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "max_tokens": record.params.max_tokens,
        "temperature": record.params.temperature,
        "top_p": record.params.top_p,
        **record.metrics,
    }
    if record.error_type:
        entry["error_type"] = record.error_type
    logging.getLogger(REQUEST_LOGGER).info(json.dumps(entry, sort_keys=True))
