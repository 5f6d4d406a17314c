"""Every place this project relies on Dramatiq beyond its documented API, in one module.

Each function says why it reaches past the public surface. tests/integration/test_dramatiq_internals.py
exercises each against real Dramatiq on a real Redis, so an upgrade that changes one fails there first.
"""

from __future__ import annotations

from uuid import uuid4

import redis
from dramatiq import Consumer, Message, Worker
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker

from .names import ACTOR_NAME, DRAMATIQ_NAMESPACE, offline_queue_name, queue_name


def enqueue_task(broker: RedisBroker, model: str, task_id: str, offline: bool = False) -> None:
    """The generate actor's message for one task, built by hand: the api enqueues without declaring the
    actor, whose module loads the model (torch). Same shape as `actor.send(task_id)` would build. Offline
    (a batch line): on the model's offline queue, which the worker's offline lane reads."""
    queue = offline_queue_name(model) if offline else queue_name(model)
    message: Message[None] = Message(queue_name=queue, actor_name=ACTOR_NAME, args=(task_id,), kwargs={}, options={})
    broker.enqueue(message)


def task_message(model: str, task_id: str) -> tuple[str, str]:
    """The generate actor's message for one task as Dramatiq's Redis broker stores it: its id in Redis and its
    encoded body, so that contract/fair_queue.py can hold it back and later move it onto the queue in one
    script. The broker's own enqueue gives each message a fresh `redis_message_id` the same way."""
    message: Message[None] = Message(
        queue_name=queue_name(model), actor_name=ACTOR_NAME, args=(task_id,), kwargs={}, options={}
    )
    message_id = str(uuid4())
    return message_id, message.copy(options={"redis_message_id": message_id}).encode().decode()


def queue_keys(model: str) -> tuple[str, str]:
    """The keys of the model's queue: Dramatiq's Redis broker keeps a queue as a list of message ids and a hash
    of their bodies, and its enqueue command is a push to the one and a write to the other (what
    contract/fair_queue.py does in its own scripts)."""
    full_name = f"{DRAMATIQ_NAMESPACE}:{queue_name(model)}"
    return full_name, f"{full_name}.msgs"


def waiting(client: redis.Redis, model: str, offline: bool = False) -> int:
    """Messages in the model's queue (or offline queue) that no worker has taken yet. Dramatiq keeps a queue
    as a Redis list named `<namespace>:<queue>` and offers no count that other processes can read."""
    queue = offline_queue_name(model) if offline else queue_name(model)
    return int(client.llen(f"{DRAMATIQ_NAMESPACE}:{queue}"))  # type: ignore[arg-type]


def in_flight(client: redis.Redis, model: str, offline: bool = False) -> int:
    """Messages of the model's queue (or offline queue) that workers took but have not acknowledged. Each
    worker keeps these in a set `<namespace>:__acks__.<worker id>.<queue>`; Dramatiq has no call that adds
    them up."""
    queue = offline_queue_name(model) if offline else queue_name(model)
    pattern = f"{DRAMATIQ_NAMESPACE}:__acks__.*.{queue}"
    return sum(int(client.scard(key)) for key in client.scan_iter(match=pattern, count=500))  # type: ignore[arg-type]


def refresh_broker_heartbeat(broker: RedisBroker, model: str) -> None:
    """Any command of the broker's dispatch script refreshes this worker's Dramatiq heartbeat; `qsize` is
    the cheapest. Without it, a worker whose prefetch is full fetches nothing until a long generation ends,
    and the others would take it for dead and run its messages twice."""
    broker.do_qsize(queue_name(model))


def set_poll_interval(worker: Worker, milliseconds: int) -> None:
    """The longest an idle worker waits between looks at its queue. Dramatiq's consumers back off up to
    `worker_timeout` (1 s, settable only by an environment variable read at import), so a request arriving
    at an idle worker waited up to a second before it started. Takes effect for consumers started later."""
    worker.worker_timeout = milliseconds


def set_prefetch(worker: Worker, messages: int) -> None:
    """How many messages of its queue a worker holds at once, running ones included. Dramatiq's default is
    twice its threads (settable only by an environment variable read at import): the extra half would sit
    fetched and unseen by the other workers, and ahead of a request that the fair queue put first.
    Takes effect for consumers started later."""
    worker.queue_prefetch = messages


def take_one_at_a_time(consumer: Consumer) -> None:
    """Lets a Redis consumer fetch exactly one more message on its next read, however many it holds unacked.
    Its `prefetch` caps messages held (fetched, not yet acked) and a read tops them up to it, so a fixed
    value either caps the lines running at once or fetches several that then sit here, unseen by the other
    workers, while this one has no room. The consumer keeps the ids it holds in `queued_message_ids`."""
    consumer.prefetch = len(consumer.queued_message_ids) + 1  # type: ignore[attr-defined]


def requeue_held(consumer: Consumer, message: MessageProxy) -> None:
    """Puts a message this consumer holds back on its queue. The Redis consumer's `requeue` (meant for
    messages never started, at shutdown) leaves the id among those it holds, which would count against
    its prefetch for good."""
    consumer.requeue([message])
    consumer.queued_message_ids.discard(message.message_id)  # type: ignore[attr-defined]
