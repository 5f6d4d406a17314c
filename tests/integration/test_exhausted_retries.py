"""A message Dramatiq gives up on still ends its task `failed`, with the reason (real Redis, real Worker)."""

from __future__ import annotations

import uuid

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from workers.core.contracts import TaskStatus
from workers.core.task_store import TaskStore
from workers.middleware import FailExhaustedTasks

from ..stack import RedisServer, wait_until


def test_task_whose_message_exhausts_its_retries_ends_failed(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    # Given a worker whose actor always raises outside the task's own error handling
    store = TaskStore(redis_client, ttl_seconds=600)
    broker = RedisBroker(url=redis_server.url(), namespace=f"exhaust-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(FailExhaustedTasks(store), before=Retries)

    @dramatiq.actor(broker=broker, queue_name="exhaust", max_retries=1, min_backoff=10, max_backoff=20)
    def always_breaks(task_id: str) -> None:
        raise ConnectionError("redis went away mid-task")

    task_id = f"exhaust-{uuid.uuid4()}"
    store.create(task_id, owner="k", model="m", params={}, user_id=None)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        # When its message is sent
        always_breaks.send(task_id)

        # Then, after the retry, the task is failed with the reason rather than left queued forever
        def failed() -> bool:
            record = store.get(task_id)
            return record is not None and record.status is TaskStatus.FAILED

        wait_until(failed, 20, "the task to be marked failed")
        record = store.get(task_id)
        assert record is not None and record.error_type == "WorkerError"
        assert record.error_message is not None and "ConnectionError" in record.error_message
    finally:
        worker.stop()
        broker.close()
