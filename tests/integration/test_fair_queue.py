"""The fair queue (contract/fair_queue.py) on a real Redis, its messages taken by a real Dramatiq worker:
start-time fair order across tenants, weights, priority classes, and each request in exactly one place."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from contract import fair_queue
from contract.connections import make_broker
from contract.dramatiq_internals import queue_keys, waiting
from contract.names import ACTOR_NAME, queue_name
from contract.queue_depth import waiting_requests
from contract.tenants import Priority

from ..support.stack import RedisServer, wait_until

COST = 10.0


@pytest.fixture
def model() -> str:
    return f"fair-{uuid.uuid4().hex[:8]}"  # a queue no other test or worker uses


def admit(db: redis.Redis, model: str, tenant: str, task_id: str, weight: float = 1.0, **kwargs: object) -> bool:
    priority = kwargs.get("priority", Priority.STANDARD)
    return fair_queue.admit(db, model, task_id, tenant=tenant, cost=COST / weight, priority=priority)  # type: ignore[arg-type]


def started_order(db: redis.Redis, model: str, count: int) -> list[str]:
    """Promotes one request at a time, as a worker with one free slot would, and reads which task it was."""
    order = []
    for _ in range(count):
        db.delete(*queue_keys(model))
        assert fair_queue.promote(db, model, queue_length=1) == 1
        message_id = db.lindex(queue_keys(model)[0], 0)
        body = db.hget(queue_keys(model)[1], message_id)  # type: ignore[arg-type]
        order.append(dramatiq.Message.decode(body.encode()).args[0])  # type: ignore[union-attr]
    return order


def test_a_backlog_does_not_delay_another_tenants_first_request(redis_client: redis.Redis, model: str) -> None:
    # Given tenant A's 20 requests: the first goes straight onto the empty queue, the others wait in line
    assert [admit(redis_client, model, "a", f"a{i}") for i in range(20)] == [False] + [True] * 19
    assert waiting(redis_client, model) == 1 and waiting_requests(redis_client, model) == 20
    # When tenant B's first request arrives behind them
    assert admit(redis_client, model, "b", "b0")
    # Then it is the next to start (its virtual start is the clock; A's backlog is ahead in virtual time)
    redis_client.delete(*queue_keys(model))  # A's first request was taken by a worker
    assert started_order(redis_client, model, 3) == ["b0", "a1", "a2"]


def test_flooding_tenants_share_by_weight(redis_client: redis.Redis, model: str) -> None:
    # Given two tenants flooding the same model, with weights 2 and 1 (after one request that keeps the queue busy)
    admit(redis_client, model, "warm", "warm")
    for i in range(60):
        admit(redis_client, model, "heavy", f"heavy{i}", weight=2)
        admit(redis_client, model, "light", f"light{i}", weight=1)
    # When 30 requests start
    redis_client.delete(*queue_keys(model))
    started = Counter(task_id.rstrip("0123456789") for task_id in started_order(redis_client, model, 30))
    # Then they split 2:1
    assert started == {"heavy": 20, "light": 10}


def test_equal_weights_alternate(redis_client: redis.Redis, model: str) -> None:
    admit(redis_client, model, "warm", "warm")
    for i in range(10):
        admit(redis_client, model, "a", f"a{i}")
    for i in range(10):
        admit(redis_client, model, "b", f"b{i}")
    redis_client.delete(*queue_keys(model))
    order = started_order(redis_client, model, 6)
    # (equal virtual times may start in either order)
    assert [set(order[i : i + 2]) for i in (0, 2, 4)] == [{"a0", "b0"}, {"a1", "b1"}, {"a2", "b2"}]


def test_a_higher_priority_class_starts_first(redis_client: redis.Redis, model: str) -> None:
    # Given batch-class, standard and interactive requests waiting (arriving in that order)
    admit(redis_client, model, "warm", "warm")
    admit(redis_client, model, "nightly", "batch0", priority=Priority.BATCH)
    admit(redis_client, model, "team", "standard0")
    admit(redis_client, model, "chat", "interactive0", priority=Priority.INTERACTIVE)
    redis_client.delete(*queue_keys(model))
    # Then they start by class, highest first, whatever their virtual times
    assert started_order(redis_client, model, 3) == ["interactive0", "standard0", "batch0"]


def test_promote_fills_the_queue_to_the_length_asked_and_no_further(redis_client: redis.Redis, model: str) -> None:
    for i in range(6):
        admit(redis_client, model, "a", f"a{i}")
    assert fair_queue.promote(redis_client, model, queue_length=3) == 2  # one was already there
    assert fair_queue.promote(redis_client, model, queue_length=3) == 0
    assert (waiting(redis_client, model), fair_queue.staged(redis_client, model)) == (3, 3)
    assert waiting_requests(redis_client, model) == 6


@pytest.fixture
def broker(redis_server: RedisServer) -> Iterator[RedisBroker]:
    found = make_broker(redis_server.url())
    yield found
    found.close()


def test_a_promoted_request_is_an_ordinary_dramatiq_message(
    broker: RedisBroker, redis_client: redis.Redis, model: str
) -> None:
    # Given the generate actor on a real Dramatiq worker, and requests waiting in the fair queue
    received: list[str] = []
    done = threading.Event()

    @dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue_name(model), broker=broker)
    def generate(task_id: str) -> None:
        received.append(task_id)
        if len(received) == 3:
            done.set()

    for i in range(3):
        admit(redis_client, model, "a", f"a{i}")
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        # When they are moved onto the queue
        wait_until(
            lambda: fair_queue.promote(redis_client, model, queue_length=1) >= 0 and done.is_set(), 10, "all three run"
        )
    finally:
        worker.stop()
    # Then the worker ran each once, in order, and nothing is left anywhere
    assert received == ["a0", "a1", "a2"]
    assert waiting_requests(redis_client, model) == 0
    assert redis_client.hlen(queue_keys(model)[1]) == 0
