"""What contract/dramatiq_internals.py relies on, checked against real Dramatiq on a real Redis: if an
upgrade changes a queue's key, the acknowledgement sets, the message shape or the heartbeat, these fail.
(`set_poll_interval` is checked through the QueuePolling middleware in test_worker_middleware.py.)"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from contract.connections import make_broker
from contract.dramatiq_internals import enqueue_task, in_flight, refresh_broker_heartbeat, waiting
from contract.names import ACTOR_NAME, DRAMATIQ_NAMESPACE, queue_name

from ..stack import RedisServer, wait_until


@pytest.fixture
def broker(redis_server: RedisServer) -> Iterator[RedisBroker]:
    found = make_broker(redis_server.url())
    yield found
    found.close()


@pytest.fixture
def model() -> str:
    return f"internals-{uuid.uuid4().hex[:8]}"  # a queue no other test or worker uses


def test_a_hand_built_message_reaches_the_actor_and_is_counted_while_it_waits_and_runs(
    broker: RedisBroker, redis_client: redis.Redis, model: str
) -> None:
    # Given the generate actor declared as the worker declares it
    received: list[str] = []
    release = threading.Event()

    @dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue_name(model), broker=broker)
    def generate(task_id: str) -> None:
        received.append(task_id)
        release.wait(10)

    # When the api enqueues a task the way it does, without the actor
    enqueue_task(broker, model, "task-1")

    # Then it waits in the model's queue, then is in flight while the actor runs, then neither
    assert (waiting(redis_client, model), in_flight(redis_client, model)) == (1, 0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        wait_until(lambda: received == ["task-1"], 10, "the actor to receive the task id")
        assert (waiting(redis_client, model), in_flight(redis_client, model)) == (0, 1)
        release.set()
        wait_until(lambda: in_flight(redis_client, model) == 0, 10, "the message to be acknowledged")
    finally:
        release.set()
        worker.stop()


def test_a_queue_command_refreshes_the_brokers_heartbeat(
    broker: RedisBroker, redis_client: redis.Redis, model: str
) -> None:
    beats = f"{DRAMATIQ_NAMESPACE}:__heartbeats__"
    refresh_broker_heartbeat(broker, model)
    first = redis_client.zscore(beats, broker.broker_id)
    assert first is not None

    def refreshed() -> bool:
        refresh_broker_heartbeat(broker, model)
        return (redis_client.zscore(beats, broker.broker_id) or 0) > first

    wait_until(refreshed, 5, "a later heartbeat")
