"""Accepting a request: write its task record, then put its message on the model's queue."""

from __future__ import annotations

import logging
import uuid
from typing import Any

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
    """POST /generate's request as a task."""
    knobs = with_defaults(
        svc, registered, max_tokens=request.max_tokens, temperature=request.temperature, top_p=request.top_p
    )
    params = {"prompt": request.prompt, **knobs}
    return submit_params(svc, owner=owner, model=model, params=params, user_id=request.user_id)


def with_defaults(
    svc: Services, registered: RegisteredModel | None, *, max_tokens: int | None, temperature: float | None,
    top_p: float | None,
) -> dict[str, Any]:  # fmt: skip
    """What the request left out: the model's own defaults (its LLMModel), else the api's settings."""
    settings = svc.settings
    default_max_tokens = registered.max_tokens if registered and registered.max_tokens else settings.max_new_tokens
    default_temperature = (
        registered.temperature if registered and registered.temperature is not None else settings.temperature
    )
    return {
        "max_tokens": max_tokens if max_tokens is not None else default_max_tokens,
        "temperature": temperature if temperature is not None else default_temperature,
        "top_p": top_p if top_p is not None else settings.top_p,
    }


def submit_params(svc: Services, *, owner: str, model: str, params: dict[str, Any], user_id: str | None) -> str:
    """Writes the task record, then enqueues its message; returns the task id."""
    _check_room(svc, model)
    task_id = str(uuid.uuid4())
    svc.store.create(task_id, owner=owner, model=model, params=params, user_id=user_id)
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
