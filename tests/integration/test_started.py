"""The `started` fixture's helper stops what a test started, by process id, the last started first."""

from __future__ import annotations

import os
from pathlib import Path

from ..support.stack import Started


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_everything_started_is_stopped_last_first_even_if_stopped_before(tmp_path: Path) -> None:
    started = Started(tmp_path)
    first, second = started.redis(), started.redis()
    assert first.process is not None and second.process is not None
    pids = [first.process.pid, second.process.pid]
    order: list[int] = []
    started.own(type("Probe", (), {"stop": lambda self: order.append(len(started.parts))})())
    first.stop()  # a test may stop one itself
    started.stop_all()
    assert order == [2] and started.parts == []  # the probe, started last, went first
    assert not any(alive(pid) for pid in pids)
