"""Our Dramatiq middleware on a real Redis with a real Dramatiq Worker."""

from __future__ import annotations

import uuid
from pathlib import Path

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from contract.statuses import TaskStatus
from contract.task_params import TaskParams
from contract.task_store import TaskStore
from workers.middleware.exhausted_tasks import FailExhaustedTasks
from workers.middleware.queue_polling import QueuePolling
from workers.middleware.ready_file import ReadyFile

from ..support.stack import RedisServer, wait_until

PARAMS = TaskParams(prompt="p", max_tokens=1, temperature=0.0, top_p=1.0)


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
    store.create(task_id, owner="k", model="m", params=PARAMS, user_id=None)
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


def test_queue_polling_caps_an_idle_consumers_backoff_and_its_prefetch(redis_server: RedisServer) -> None:
    # Dramatiq backs off up to the worker timeout (1 s) on an empty queue; the middleware lowers the cap
    broker = RedisBroker(url=redis_server.url(), namespace=f"poll-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(QueuePolling(0.05))
    dramatiq.actor(broker=broker, queue_name="poll")(lambda: None)
    worker = dramatiq.Worker(broker, worker_threads=3)
    assert (worker.worker_timeout, worker.queue_prefetch) == (1000, 6)
    worker.start()
    try:
        assert worker.worker_timeout == 50
        assert worker.consumers and all(consumer.worker_timeout == 50 for consumer in worker.consumers.values())
        # and it holds no more messages than it has threads for (Dramatiq's default is twice as many)
        queue_consumer = worker.consumers["poll"].consumer
        assert queue_consumer.prefetch == 3
    finally:
        worker.stop()
        broker.close()


def test_the_ready_file_exists_only_while_the_worker_takes_tasks(redis_server: RedisServer, tmp_path: Path) -> None:
    # Given a worker with the ready-file middleware (the pod's readiness probe tests for the file)
    ready = tmp_path / "probe" / "worker-ready"
    broker = RedisBroker(url=redis_server.url(), namespace=f"ready-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(ReadyFile(str(ready)))
    dramatiq.actor(broker=broker, queue_name="ready")(lambda: None)
    worker = dramatiq.Worker(broker, worker_threads=1)
    assert not ready.exists()
    # When it boots, the file appears; when it starts shutting down, it is gone
    worker.start()
    try:
        assert ready.exists()
    finally:
        worker.stop()
        broker.close()
    assert not ready.exists()


def test_a_ready_file_left_by_a_previous_life_is_gone_before_the_model_loads(tmp_path: Path) -> None:
    # A restarted container keeps the pod's /tmp: the old file must not make the new life look Ready
    stale = tmp_path / "worker-ready"
    stale.touch()
    ReadyFile(str(stale))
    assert not stale.exists()
