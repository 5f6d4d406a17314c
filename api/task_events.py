"""Following one task's events as they come: the one loop behind /stream and the /v1 routes."""

from __future__ import annotations

import math
import select
import socket
import time
from collections.abc import Iterator

from flask import Response

from contract import events

from .errors import ApiError
from .event_hub import Event, EventHub, StreamsFull

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
        return Follower(hub, task_id, after, client, deadline)
    except StreamsFull:
        raise streams_full(hub) from None


def event_stream(body: Iterator[str], follower: Follower, headers: dict[str, str]) -> Response:
    """A text/event-stream response that gives the follower's place back when it closes, also when its body
    was never iterated (a follower's own iteration gives it back only once it has started)."""
    response = Response(body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", **headers})
    response.call_on_close(follower.close)
    return response


def check_room(hub: EventHub) -> None:
    """For a request that will follow a task it is about to create: refuse before creating it."""
    if hub.full:
        raise streams_full(hub)


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
        self, hub: EventHub, task_id: str, after: str, client: socket.socket | None, deadline: float = math.inf
    ) -> None:
        self.subscription = hub.subscribe(task_id, after)
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


def client_gone(sock: socket.socket) -> bool:
    """A readable socket with nothing to read is one the client closed (HTTP clients send nothing more
    while they wait on a streamed response)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # closed already; or a TLS socket, which cannot peek: assume it is there
        return False
