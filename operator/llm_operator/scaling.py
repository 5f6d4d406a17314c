"""The scaling decision, a pure function: replicas from queue depth, with a delay before scaling down."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    min_replicas: int
    max_replicas: int
    target_queue_length: int
    """requests (waiting plus in flight) one replica should carry"""
    scale_down_delay: float
    """seconds the depth must stay low before replicas go down"""


@dataclass(frozen=True)
class Decision:
    replicas: int
    low_since: float | None
    """when the depth first asked for fewer replicas than running; None when it does not"""


def clamp(value: int, bounds: Bounds) -> int:
    return max(bounds.min_replicas, min(bounds.max_replicas, value))


def decide(
    current: int, depth: int | None, bounds: Bounds, now: float, low_since: float | None, batch_waiting: bool = False
) -> Decision:
    """depth None means Redis could not be read: hold (within bounds), never guess down to zero.

    Batch API lines (`batch_waiting`) keep one replica up, never more: they run in the room interactive
    traffic leaves over a 24-hour window, so they need a worker to exist, not more of them."""
    held = clamp(current, bounds)
    if depth is None:
        return Decision(held, low_since)
    wanted = clamp(max(math.ceil(depth / bounds.target_queue_length), 1 if batch_waiting else 0), bounds)
    if wanted >= held:  # up at once, from zero as soon as anything waits
        return Decision(wanted, None)
    since = now if low_since is None else low_since
    if now - since >= bounds.scale_down_delay:
        return Decision(wanted, None)
    return Decision(held, since)
