"""Accepting a request: write its task record, then put its message on the model's queue."""

from __future__ import annotations

import logging
import uuid

import redis
from dramatiq import Message

from workers.core.contracts import ACTOR_NAME, queue_name
from workers.core.model_registry import RegisteredModel
from workers.core.queue_depth import waiting

from .errors import ApiError
from .metrics import TASKS_SUBMITTED
from .schemas import GenerateRequest
from .services import Services

logger = logging.getLogger(__name__)
QUEUE_FULL_RETRY_AFTER_SECONDS = 10


def submit(
    svc: Services, *, owner: str, request: GenerateRequest, model: str, registered: RegisteredModel | None = None
) -> str:
    """`registered`: the model's operator entry, whose generation defaults win over the api's settings."""
    settings = svc.settings
    _check_room(svc, model)
    default_max_tokens = registered.max_tokens if registered and registered.max_tokens else settings.max_new_tokens
    default_temperature = (
        registered.temperature if registered and registered.temperature is not None else settings.temperature
    )
    task_id = str(uuid.uuid4())
    params = {
        "prompt": request.prompt,
        "max_tokens": request.max_tokens if request.max_tokens is not None else default_max_tokens,
        "temperature": request.temperature if request.temperature is not None else default_temperature,
        "top_p": request.top_p if request.top_p is not None else settings.top_p,
    }
    svc.store.create(task_id, owner=owner, model=model, params=params, user_id=request.user_id)
    message: Message[None] = Message(
        queue_name=queue_name(model), actor_name=ACTOR_NAME, args=(task_id,), kwargs={}, options={}
    )
    try:
        svc.broker.enqueue(message)
    except Exception:
        # The client hears 503 and will retry: leave no orphan record that no message will ever finish.
        try:
            svc.store.delete(task_id)
        except redis.RedisError:
            logger.warning("task %s: enqueue failed and its record could not be removed", task_id)
        raise
    TASKS_SUBMITTED.labels(model).inc()
    logger.info("task %s queued for %s (key %s)", task_id, model, owner)
    return task_id


def _check_room(svc: Services, model: str) -> None:
    """A bounded backlog: beyond MAX_QUEUE_LENGTH waiting requests the client is told to come back later.
    (Checked before enqueueing, so concurrent submissions can pass it by a few: a bound, not an exact cap.)"""
    found = waiting(svc.redis, model)
    if found >= svc.settings.max_queue_length:
        raise ApiError(503, f"Queue full: {found} requests wait for model {model!r}; retry later",
                       retry_after=QUEUE_FULL_RETRY_AFTER_SECONDS, field="model")  # fmt: skip
