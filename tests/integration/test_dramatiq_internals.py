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
from contract.dramatiq_internals import (
    enqueue_task,
    in_flight,
    refresh_broker_heartbeat,
    requeue_held,
    take_one_at_a_time,
    waiting,
)
from contract.names import ACTOR_NAME, DRAMATIQ_NAMESPACE, offline_queue_name, queue_name

from ..support.stack import RedisServer, wait_until


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


def test_a_consumer_taking_one_at_a_time_fetches_one_message_per_read_and_requeues_what_it_holds(
    broker: RedisBroker, redis_client: redis.Redis, model: str
) -> None:
    # Given three messages on a model's offline queue, read the way the offline lane reads it
    for index in range(3):
        enqueue_task(broker, model, f"line-{index}", offline=True)
    queue = offline_queue_name(model)
    consumer = broker.consume(queue, timeout=100)
    # When it reads twice, taking one at a time
    taken = []
    for _ in range(2):
        take_one_at_a_time(consumer)
        taken.append(next(consumer))
    # Then it holds exactly those two (one waits in Redis for any worker), and none sits fetched but unread
    assert [message.args[0] for message in taken] == ["line-0", "line-1"]
    assert redis_client.llen(f"{DRAMATIQ_NAMESPACE}:{queue}") == 1
    assert len(consumer.queued_message_ids) == 2 and not consumer.message_cache
    # When it gives one back
    requeue_held(consumer, taken[0])
    # Then that one waits again, no longer counted as held, and the other is acknowledged as usual
    assert redis_client.llen(f"{DRAMATIQ_NAMESPACE}:{queue}") == 2
    assert len(consumer.queued_message_ids) == 1
    consumer.ack(taken[1])
    assert not consumer.queued_message_ids
    consumer.close()
