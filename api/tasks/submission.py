"""Accepting a request: its parameters with defaults filled in, its task record, its message on the queue."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import redis

from contract import fair_queue, stored_bytes, tenant_budget
from contract.dramatiq_internals import enqueue_task
from contract.model_registry import RegisteredModel
from contract.queue_depth import waiting_requests
from contract.task_params import TaskParams
from contract.tenant_budget import Reservation
from contract.tenants import Tenant

from ..http import rate_limit
from ..http.errors import ApiError
from ..http.metrics import TASKS_SUBMITTED
from ..services import Services
from ..settings import ApiSettings
from ..tenants import budgets

logger = logging.getLogger(__name__)
QUEUE_FULL_RETRY_AFTER_SECONDS = 10
REPLICAS_RETRY_AFTER_SECONDS = 2


def task_params(
    settings: ApiSettings,
    registered: RegisteredModel | None,
    *,
    max_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    **options: Any,
) -> TaskParams:
    """What the request asked for; what it left out comes from the model's own defaults (its LLMModel),
    else from the api's settings. `options` are TaskParams' other fields (the text, stop, seed, vLLM's
    sampling options...)."""
    if max_tokens is None:
        max_tokens = registered.max_tokens if registered and registered.max_tokens else settings.max_new_tokens
    if temperature is None:
        own = registered.temperature if registered is not None else None
        temperature = settings.temperature if own is None else own
    if options.get("min_tokens", 0) > max_tokens:
        raise ApiError(400, f"Invalid min_tokens: must not exceed max_tokens ({max_tokens})", field="min_tokens")
    return TaskParams(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=settings.top_p if top_p is None else top_p,
        **options,
    )


def submit(
    svc: Services,
    *,
    owner: str,
    tenant: Tenant,
    model: str,
    params: TaskParams,
    user_id: str | None,
    callback_url: str | None = None,
    response: dict[str, Any] | None = None,
    retention: int | None = None,
    spend: int = 1,
) -> str:
    """Reserves the tenant's budgets, counts `spend` tasks against its rate limit (a request of several tasks
    counts them all with its first), writes the task record, then puts its message in the model's fair queue;
    returns the task id."""
    _check_room(svc, model)
    check_stored_bytes(svc, owner, stored_bytes.record_bytes(params, len(json.dumps(response)) if response else 0))
    task_id = str(uuid.uuid4())
    prompt_tokens = svc.prompt_tokens.count(model, params)
    reservation = budgets.reserve(svc, tenant, task_id, prompt_tokens, params.max_tokens)
    try:
        if spend:
            rate_limit.spend(spend)
        svc.store.create(
            task_id,
            owner=owner,
            model=model,
            params=params,
            user_id=user_id,
            callback_url=callback_url,
            tenant=tenant.name,
            reservation=reservation,
            response=response,
            retention=retention,
        )
        if svc.settings.fair_queueing:
            cost = (prompt_tokens + params.max_tokens) / tenant.weight
            fair_queue.admit(svc.redis, model, task_id, tenant=tenant.name, cost=cost, priority=tenant.priority)
        else:
            enqueue_task(svc.broker, model, task_id)
        _check_replicated(svc, task_id)
    except Exception:
        _withdraw(svc, task_id, reservation)
        raise
    TASKS_SUBMITTED.labels(model).inc()
    logger.info("task %s queued for %s (key %s)", task_id, model, owner)
    return task_id


def check_stored_bytes(svc: Services, owner: str, size: int) -> None:
    """429 with Retry-After when the key's records today would pass MAX_STORED_BYTES_PER_DAY."""
    budget = svc.settings.max_stored_bytes_per_day
    wait = stored_bytes.reserve(svc.redis, owner, size, budget)
    if wait is not None:
        raise ApiError(
            429,
            f"Too much stored today: this key's requests and results would pass {budget} bytes "
            "(MAX_STORED_BYTES_PER_DAY)",
            retry_after=wait,
            code="storage_limit_exceeded",
        )


def _withdraw(svc: Services, task_id: str, reservation: Reservation | None) -> None:
    """The client hears 503 and will retry: leave no orphan record that no message will ever finish (a worker
    that takes the message finds no record, and skips it), and give the tenant its reservation back."""
    try:
        svc.store.delete(task_id)
        if reservation is not None:
            tenant_budget.release(svc.redis, reservation, task_id)
    except redis.RedisError:
        logger.warning("task %s: not accepted, and its record or reservation could not be removed", task_id)


def _check_replicated(svc: Services, task_id: str) -> None:
    """With REDIS_WAIT_REPLICAS, a task is accepted only once that many replicas hold it: a failover to one
    of them then loses no accepted task (replication is otherwise asynchronous)."""
    wanted = svc.settings.redis_wait_replicas
    if not wanted:
        return
    reached = svc.store.wait_for_replicas(task_id, wanted, svc.settings.redis_wait_timeout)
    if reached < wanted:
        raise ApiError(
            503,
            f"Not accepted: the task reached {reached} of {wanted} Redis replicas in time (REDIS_WAIT_REPLICAS); "
            "retry later",
            retry_after=REPLICAS_RETRY_AFTER_SECONDS,
        )


def _check_room(svc: Services, model: str) -> None:
    """A bounded backlog: beyond MAX_QUEUE_LENGTH waiting requests the client is told to come back later.
    (Checked before enqueueing, so concurrent submissions can pass it by a few: a bound, not an exact cap.)"""
    found = waiting_requests(svc.redis, model)
    if found >= svc.settings.max_queue_length:
        raise ApiError(
            503,
            f"Queue full: {found} requests wait for model {model!r}; retry later",
            retry_after=QUEUE_FULL_RETRY_AFTER_SECONDS,
            field="model",
        )
