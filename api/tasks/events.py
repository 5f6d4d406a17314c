"""Following one task's events as they come: the one loop behind /stream and the /v1 routes."""

from __future__ import annotations

import math
import queue
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, g

from contract import events

from ..http.errors import ApiError
from .event_hub import Event, EventHub, KeyStreamsFull, StreamsFull

# How often a waiting follower looks at its client's socket (and its deadline) between events.
CHECK_SECONDS = 1.0
FINAL, CLIENT_GONE, DEADLINE = "final", "client gone", "deadline"
STREAMS_FULL_RETRY_AFTER_SECONDS = 5


def follow(
    hub: EventHub, task_id: str, after: str, client: socket.socket | None, deadline: float = math.inf
) -> Follower:
    """A Follower, or 503 with Retry-After when this process already follows MAX_OPEN_STREAMS tasks (other
    requests, /health included, are not affected)."""
    try:
        return Follower(hub, task_id, after, client, deadline, _owner())
    except StreamsFull:
        raise streams_full(hub) from None
    except KeyStreamsFull:
        raise key_streams_full(hub) from None


def event_stream(body: Iterator[str], follower: Follower | Gathering, headers: dict[str, str]) -> Response:
    """A text/event-stream response that gives the follower's place back when it closes, also when its body
    was never iterated (a follower's own iteration gives it back only once it has started)."""
    response = Response(body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", **headers})
    response.call_on_close(follower.close)
    return response


def check_room(hub: EventHub, tasks: int = 1) -> None:
    """For a request that will follow tasks it is about to create: refuse before creating them."""
    if not hub.has_room(tasks):
        raise streams_full(hub)
    if not hub.owner_has_room(_owner(), tasks):
        raise key_streams_full(hub)


def _owner() -> str:
    """The key the request came with (every route that follows tasks requires one)."""
    return str(g.get("key_id", ""))


def key_streams_full(hub: EventHub) -> ApiError:
    return ApiError(
        429,
        f"Too many open streams for this API key on this server ({hub.per_owner}, MAX_OPEN_STREAMS_PER_KEY); "
        "close one or retry later",
        retry_after=STREAMS_FULL_RETRY_AFTER_SECONDS,
    )


def streams_full(hub: EventHub) -> ApiError:
    return ApiError(
        503,
        f"Too many open streams on this server ({hub.capacity}); retry later",
        retry_after=STREAMS_FULL_RETRY_AFTER_SECONDS,
    )


class Follower:
    """Iterates a task's events after `after` as (event id, event), and None after each second that brought
    nothing (so callers can send keep-alives), until the final event, the client closing its connection, or
    `deadline` (time.monotonic()). `ended_by` then says which. It follows through the process's EventHub,
    so while it waits it holds no Redis connection; the subscription is taken when it starts (StreamsFull
    when the process follows all it may) and given back when it ends."""

    def __init__(
        self,
        hub: EventHub,
        task_id: str,
        after: str,
        client: socket.socket | None,
        deadline: float = math.inf,
        owner: str = "",
    ) -> None:
        self.subscription = hub.subscribe(task_id, after, owner=owner)
        self.hub = hub
        self.client = client
        self.deadline = deadline
        self.ended_by: str | None = None

    @property
    def after(self) -> str:
        """the id of the last event delivered (or the starting point)"""
        return self.subscription.after

    def __iter__(self) -> Iterator[Event | None]:
        try:
            yield from self._events()
        finally:
            self.close()

    def close(self) -> None:
        """Gives the subscription back; safe to call again (the response also calls it when it closes)."""
        self.hub.unsubscribe(self.subscription)

    def _events(self) -> Iterator[Event | None]:
        while True:
            if self.client is not None and client_gone(self.client):
                self.ended_by = CLIENT_GONE
                return
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.ended_by = DEADLINE
                return
            item = self.subscription.next(timeout=min(CHECK_SECONDS, left))
            yield item
            if item is not None and events.is_final(item[1]):
                self.ended_by = FINAL
                return


def gather(hub: EventHub, task_ids: list[str], client: socket.socket | None) -> Gathering:
    """A Gathering, or 503 with Retry-After when this process cannot follow that many more tasks."""
    try:
        return Gathering(hub, task_ids, client, _owner())
    except StreamsFull:
        raise streams_full(hub) from None
    except KeyStreamsFull:
        raise key_streams_full(hub) from None


class _Tagged:
    """One task's place in a shared inbox: its events go in marked with the task's index."""

    def __init__(self, shared: queue.SimpleQueue[tuple[int, Event]], index: int) -> None:
        self.shared, self.index = shared, index

    def put(self, item: Event) -> None:
        self.shared.put((self.index, item))


class Gathering:
    """Several tasks' events from their start, interleaved as they come, as (index in task_ids, event), and
    None after each second that brought nothing; until every task's final event or the client closing its
    connection (`ended_by` says which). One inbox for all, so one wait serves them all."""

    def __init__(self, hub: EventHub, task_ids: list[str], client: socket.socket | None, owner: str = "") -> None:
        self.hub, self.task_ids, self.client = hub, task_ids, client
        self.inbox: queue.SimpleQueue[tuple[int, Event]] = queue.SimpleQueue()
        self.subscriptions: list[Any] = []
        self.open = set(range(len(task_ids)))
        self.ended_by: str | None = None
        try:
            for index, task_id in enumerate(task_ids):
                self.subscriptions.append(hub.subscribe(task_id, events.START, _Tagged(self.inbox, index), owner))
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]] | None]:
        try:
            while self.open:
                if self.client is not None and client_gone(self.client):
                    self.ended_by = CLIENT_GONE
                    return
                try:
                    index, (_, event) = self.inbox.get(timeout=CHECK_SECONDS)
                except queue.Empty:
                    yield None
                    continue
                if events.is_final(event):
                    self.open.discard(index)
                yield index, event
            self.ended_by = FINAL
        finally:
            self.close()

    def unfinished(self) -> list[str]:
        return [self.task_ids[index] for index in sorted(self.open)]

    def close(self) -> None:
        for subscription in self.subscriptions:
            self.hub.unsubscribe(subscription)


def client_gone(sock: socket.socket) -> bool:
    """A readable socket with nothing to read is one the client closed (HTTP clients send nothing more
    while they wait on a streamed response)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # closed already; or a TLS socket, which cannot peek: assume it is there
        return False
