"""What every batching engine takes and gives back, and the protocol an engine implements.

No torch here: settings and backends name engines without loading one.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

EngineKind = Literal["auto", "batch", "paged"]
DEADLINE_MESSAGE = "generation exceeded the task time limit (TASK_TIME_LIMIT)"


@dataclass(frozen=True)
class TokenEvent:
    """One item on a request's queue: a token, or the end ("stop", "length") or an error."""

    token: int | None = None
    finish_reason: str | None = None
    error: BaseException | None = None


@dataclass
class EngineRequest:
    prompt_ids: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    deadline: float
    seed: int | None = None
    events: queue.Queue[TokenEvent] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)


class Engine(Protocol):
    """Generates for many requests at once; each request's tokens arrive on its own `events` queue."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submit(self, request: EngineRequest) -> None: ...

    @property
    def running(self) -> int:
        """requests generating now"""
        ...
