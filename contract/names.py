"""The one source of truth for names in Redis and on the queue that every part agrees on."""

from __future__ import annotations

import re

KEY_PREFIX = "llm"
DRAMATIQ_NAMESPACE = "dramatiq"
ACTOR_NAME = "generate_text"
QUEUE_PREFIX = "llm-"


def model_slug(model_id: str) -> str:
    """A stable, queue-safe slug: lower case, runs of other characters folded to one dash."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    if not slug:
        raise ValueError(f"model id {model_id!r} has no letters or digits to name a queue after")
    return slug


def queue_name(model_id: str) -> str:
    """The Dramatiq queue that carries one model's requests."""
    return QUEUE_PREFIX + model_slug(model_id)


def task_key(task_id: str) -> str:
    return f"{KEY_PREFIX}:task:{task_id}"


TASK_KEY_PATTERN = f"{KEY_PREFIX}:task:*"


def events_key(task_id: str) -> str:
    """The Redis stream of one task's events: status changes, text deltas, the final result or error."""
    return f"{KEY_PREFIX}:events:{task_id}"


# Pub/Sub channel on which every event write announces its task id, so that each api process reads a
# task's stream only when something was written to it (api/event_hub.py).
EVENTS_CHANNEL = f"{KEY_PREFIX}:events-written"


def heartbeat_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}:worker:{worker_id}"


HEARTBEAT_KEY_PATTERN = f"{KEY_PREFIX}:worker:*"
# Hash of the models the operator runs, field = served model name, value = JSON (model_registry.py).
MODEL_REGISTRY_KEY = f"{KEY_PREFIX}:models"
RATE_LIMIT_KEY_PREFIX = f"{KEY_PREFIX}:ratelimit"
# Hash of finished-task counts, field "<model>\t<status>": survives workers scaling to zero.
TASKS_FINISHED_KEY = f"{KEY_PREFIX}:stats:tasks_finished"
# Prefix of every Prometheus metric this project defines (vLLM's naming, our namespace).
METRIC_PREFIX = "llm_service:"
