"""Following one task's events as they come: the one loop behind /stream and the /v1 routes."""

from __future__ import annotations

import math
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

from contract import events
from contract.task_store import TaskStore

# Redis reads block this long at most (below the client's socket timeout), so the loop stays responsive.
READ_BLOCK_MS = 1000
FINAL, CLIENT_GONE, DEADLINE = "final", "client gone", "deadline"

Event = tuple[str, dict[str, Any]]


class Follower:
    """Iterates a task's events after `after` as (event id, event), and None after each read that found
    nothing (so callers can send keep-alives), until the final event, the client closing its connection,
    or `deadline` (time.monotonic()). `ended_by` then says which. The store is passed in: a streamed
    response runs after the request's app context has gone."""

    def __init__(
        self, store: TaskStore, task_id: str, after: str, client: socket.socket | None, deadline: float = math.inf
    ) -> None:
        self.store = store
        self.task_id = task_id
        self.after = after
        self.client = client
        self.deadline = deadline
        self.ended_by: str | None = None

    def __iter__(self) -> Iterator[Event | None]:
        while True:
            if self.client is not None and client_gone(self.client):
                self.ended_by = CLIENT_GONE
                return
            if time.monotonic() >= self.deadline:
                self.ended_by = DEADLINE
                return
            found = events.read_after(self.store.client, self.task_id, self.after, block_ms=READ_BLOCK_MS)
            if not found:
                yield None
            for event_id, event in found:
                self.after = event_id
                yield event_id, event
                if events.is_final(event):
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
