"""Running a /v1 request's tasks (a choice or an embedding input each): submitted together, followed together,
and cancelled together when the request cannot be answered or its client goes away."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import redis
from flask import g

from contract.task_params import TaskParams
from contract.task_store import TaskStore

from ..http.errors import ApiError
from ..services import Services
from ..tasks.events import CLIENT_GONE, Gathering, gather
from ..tasks.submission import submit

Failure = Callable[[dict[str, Any]], ApiError]
"""the error a failed task's final event is answered with"""


def submit_all(svc: Services, model: str, params: list[TaskParams], user: str | None) -> list[str]:
    """One task each; when one cannot be submitted, those already are cancelled (nobody will read them)."""
    task_ids: list[str] = []
    try:
        for index, one in enumerate(params):  # the first counts them all against the rate limit
            spend = len(params) if index == 0 else 0
            task_ids.append(
                submit(svc, owner=g.key_id, tenant=g.tenant, model=model, params=one, user_id=user, spend=spend)
            )
    except Exception:
        cancel(svc.store, task_ids)
        raise
    return task_ids


def gather_or_cancel(svc: Services, task_ids: list[str], client: Any) -> Gathering:
    """The tasks' follower; when there is none to be had (full since the check, or Redis failing), the tasks
    are cancelled before the request is answered with an error: nobody would read their results."""
    try:
        return gather(svc.hub, task_ids, client)
    except (ApiError, redis.RedisError):
        cancel(svc.store, task_ids)
        raise


def cancel(store: TaskStore, task_ids: Iterable[str]) -> None:
    for task_id in task_ids:
        with contextlib.suppress(redis.RedisError):  # the task then runs to its end, unread
            store.request_cancel(task_id)


def events_of(store: TaskStore, gathering: Gathering) -> Iterator[tuple[int, dict[str, Any]]]:
    """The tasks' events until every final one; cancels what is left if the client goes away, or if the
    reader stops early (a failed task). (The store is passed in: a streamed response runs after the
    request's app context has gone.)"""
    try:
        for item in gathering:
            if item is not None:
                yield item
    finally:
        if gathering.ended_by in (CLIENT_GONE, None):
            cancel(store, gathering.unfinished())


def finals(store: TaskStore, gathering: Gathering, count: int, failure: Failure) -> list[dict[str, Any]]:
    """Every task's completed event, in task order; the first failure is raised as `failure` makes it."""
    found: list[dict[str, Any] | None] = [None] * count
    for index, event in events_of(store, gathering):
        if event["status"] == "failed":
            raise failure(event)  # the others are cancelled as the reader stops
        if event["status"] == "completed":
            found[index] = event
    if any(final is None for final in found):
        raise ApiError(499, "Client closed the request")  # nobody is left to read it
    return found  # type: ignore[return-value]
