"""The worker's delta writer on a real Redis: text gathered from many tasks at once reaches each task's
stream whole and in order, in fewer writes, before the task's final event; a failed write reaches the task."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import redis

from contract import events
from contract.task_store import TaskStore
from workers.delta_writer import DeltaWriter

from ..support.stack import RedisServer, wait_until


def deltas(client: redis.Redis, task_id: str) -> list[str]:
    return [event["delta"] for _, event in events.read_after(client, task_id, events.START) if "delta" in event]


@pytest.mark.parametrize("interval", [0.0, 0.02])
def test_text_from_many_tasks_arrives_whole_and_in_order(redis_client: redis.Redis, interval: float) -> None:
    # Given a writer shared by 8 tasks, each generating 200 pieces from its own thread
    writer = DeltaWriter(TaskStore(redis_client, ttl_seconds=600), interval)
    tasks = {f"delta-{uuid.uuid4()}": [f"<{i}:{n}>" for n in range(200)] for i in range(8)}

    def generate(task_id: str) -> None:
        for piece in tasks[task_id]:
            writer.add(task_id, piece)
        writer.flush(task_id)

    threads = [threading.Thread(target=generate, args=(task_id,)) for task_id in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each stream joins to exactly the task's text, and with an interval in far fewer writes
    for task_id, pieces in tasks.items():
        written = deltas(redis_client, task_id)
        assert "".join(written) == "".join(pieces)
        assert len(written) == 200 if interval == 0 else len(written) < 100


def test_a_failed_write_is_raised_in_the_task_it_belongs_to(tmp_path: Path) -> None:
    # Given a writer whose Redis goes away between a delta and the next write
    doomed = RedisServer(tmp_path).start()
    client = redis.Redis(port=doomed.port, decode_responses=True, socket_timeout=1, socket_connect_timeout=1)
    writer = DeltaWriter(TaskStore(client, ttl_seconds=600), interval=0.05)
    writer.add("failing-task", "text")
    doomed.stop()

    # When the writer thread tries to write it, then the task hands over its next delta
    def raised() -> bool:
        try:
            writer.add("failing-task", "more")
        except redis.RedisError:
            return True
        return False

    # Then the task sees the Redis error (so the actor waits for Redis and generates again)
    wait_until(raised, 5, "the write's error to reach the task")


@pytest.mark.parametrize("interval", [0.0, 0.02])
def test_logprobs_go_out_with_the_next_text_and_none_without_text(redis_client: redis.Redis, interval: float) -> None:
    writer = DeltaWriter(TaskStore(redis_client, ttl_seconds=600), interval)
    task_id = f"delta-{uuid.uuid4()}"
    entry = {"id": 1, "token": "a", "bytes": [97], "logprob": -0.5, "top": []}
    writer.logprobs(task_id, [entry, {**entry, "id": 2}])
    writer.add(task_id, "ab")
    writer.flush(task_id)
    writer.logprobs(task_id, [{**entry, "id": 3}])  # a token whose text never came (held back, then ended)
    writer.flush(task_id)
    written = [event for _, event in events.read_after(redis_client, task_id, events.START)]
    assert [(event["delta"], [e["id"] for e in event["logprobs"]]) for event in written] == [("ab", [1, 2])]
    assert writer.entries == {}  # nothing left behind for a finished task
