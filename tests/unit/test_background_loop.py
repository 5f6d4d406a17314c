"""The api's one background-loop helper: it outlives a failing step and runs a busy one again at once."""

from __future__ import annotations

import itertools
import threading
import time

import redis

from api.http.background import BackgroundLoop


def test_a_failing_step_is_tried_again_and_a_busy_one_runs_at_once() -> None:
    results: list[object] = [redis.ConnectionError("down"), RuntimeError("surprise"), True, True, False]
    calls: list[float] = []
    done = threading.Event()

    def step() -> object:
        calls.append(time.monotonic())
        if len(calls) == len(results):
            done.set()
        outcome = results[min(len(calls), len(results)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    loop = BackgroundLoop("test-loop", step, pause=1.0)
    loop.ensure_running()
    loop.ensure_running()  # a second start is the same thread
    assert done.wait(10)
    assert loop.thread is not None and loop.thread.daemon and loop.thread.name == "test-loop"
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    # after each failure a pause; after a busy step none
    assert gaps[0] >= 1.0 and gaps[1] >= 1.0
    assert gaps[2] < 0.5 and gaps[3] < 0.5
