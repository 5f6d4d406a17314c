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


# Batch API lines wait on their own queue per model (the offline lane, workers/middleware/offline_lane.py). The
# underscore keeps these names apart from every model's queue: a slug never contains one.
OFFLINE_QUEUE_PREFIX = "llm_offline-"


def offline_queue_name(model_id: str) -> str:
    return OFFLINE_QUEUE_PREFIX + model_slug(model_id)


def fair_queue_key(model_id: str, part: str) -> str:
    """One part of a model's fair queue (contract/fair_queue.py): `clock`, `finish`, `messages`, or the
    waiting requests of a priority class, `waiting:<rank>`."""
    return f"{KEY_PREFIX}:fair:{model_slug(model_id)}:{part}"


def task_key(task_id: str) -> str:
    return f"{KEY_PREFIX}:task:{task_id}"


TASK_KEY_PATTERN = f"{KEY_PREFIX}:task:*"


def events_key(task_id: str) -> str:
    """The Redis stream of one task's events: status changes, text deltas, the final result or error."""
    return f"{KEY_PREFIX}:events:{task_id}"


# Pub/Sub channel on which every event write announces its task id, so that each api process reads a
# task's stream only when something was written to it (api/tasks/event_hub.py).
EVENTS_CHANNEL = f"{KEY_PREFIX}:events-written"


def tokenizer_key(model_id: str) -> str:
    """A model's tokenizer as its workers publish it for the api (contract/published_tokenizers.py)."""
    return f"{KEY_PREFIX}:tokenizer:{model_slug(model_id)}"


def heartbeat_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}:worker:{worker_id}"


HEARTBEAT_KEY_PATTERN = f"{KEY_PREFIX}:worker:*"
# Hash of the tenants the operator declares, field = tenant name, value = JSON (contract/tenants.py).
TENANT_REGISTRY_KEY = f"{KEY_PREFIX}:tenants"
# Hash of the models the operator runs, field = served model name, value = JSON (model_registry.py).
MODEL_REGISTRY_KEY = f"{KEY_PREFIX}:models"
RATE_LIMIT_KEY_PREFIX = f"{KEY_PREFIX}:ratelimit"
# Hash of finished-task counts, field "<model>\t<status>": survives workers scaling to zero.
TASKS_FINISHED_KEY = f"{KEY_PREFIX}:stats:tasks_finished"
# Prefix of every Prometheus metric this project defines (vLLM's naming, our namespace).
METRIC_PREFIX = "llm_service:"


# The Batch API (api/batches/): uploaded and generated files, batches, each batch's lines and their answers.
def file_key(file_id: str) -> str:
    return f"{KEY_PREFIX}:file:{file_id}"


def batch_key(batch_id: str) -> str:
    return f"{KEY_PREFIX}:batch:{batch_id}"


def batch_lines_key(batch_id: str) -> str:
    """List of the batch's lines as accepted, in file order: what answering each needs (JSON; output.py)."""
    return f"{KEY_PREFIX}:batch:{batch_id}:lines"


def batch_results_key(batch_id: str) -> str:
    """Hash of each finished line's final event (JSON), field = line number: written once, by the first
    final word about that line (contract/batch_results.py)."""
    return f"{KEY_PREFIX}:batch:{batch_id}:results"


def files_of_key(owner: str) -> str:
    """Sorted set of one key's files by expiry time: what they hold counts against BATCH_MAX_STORED_BYTES."""
    return f"{KEY_PREFIX}:files-of:{owner}"


def batches_of_key(owner: str) -> str:
    """Sorted set of one key's batches by creation time (for listing)."""
    return f"{KEY_PREFIX}:batches-of:{owner}"


def open_batches_of_key(owner: str) -> str:
    """Sorted set of one key's batches not yet final, by reservation time (bounded by BATCH_MAX_OPEN)."""
    return f"{KEY_PREFIX}:batches-open-of:{owner}"


def batch_lock_key(batch_id: str) -> str:
    """Held by the one api process moving a batch on (finalizing, expiring, cancelling it)."""
    return f"{KEY_PREFIX}:batch:{batch_id}:lock"


# Sorted set of the batches not yet final, by the time they expire: what the api's supervisor watches.
OPEN_BATCHES_KEY = f"{KEY_PREFIX}:batches:open"


def usage_bucket_key(width_seconds: int, start: int) -> str:
    """One bucket of usage (contract/usage.py): a minute's or a day's counts, by key and model."""
    return f"{KEY_PREFIX}:usage:{width_seconds}:{start}"


# Usage since Redis began, by key and model: what the api's /metrics exports as counters.
USAGE_TOTAL_KEY = f"{KEY_PREFIX}:usage:total"


def budget_key(tenant: str, width_seconds: int, start: int) -> str:
    """A tenant's tokens reserved in one minute or day (contract/tenant_budget.py)."""
    return f"{KEY_PREFIX}:budget:{tenant}:{width_seconds}:{start}"


def in_flight_key(tenant: str) -> str:
    """Sorted set of a tenant's tasks accepted and not yet finished, by the time their place lapses."""
    return f"{KEY_PREFIX}:in-flight:{tenant}"


def stored_bytes_key(owner: str, day: int) -> str:
    """What one API key stored in Redis on one day (contract/stored_bytes.py)."""
    return f"{KEY_PREFIX}:stored-bytes:{owner}:{day}"
