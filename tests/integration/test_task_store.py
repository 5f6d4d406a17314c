"""Task records and heartbeats on a real Redis."""

from __future__ import annotations

import json
import time
import uuid

import redis

from contract import heartbeats
from contract.events import DATA_FIELD
from contract.names import events_key, task_key
from contract.statuses import TaskStatus
from contract.task_params import TaskParams
from contract.task_store import TaskRecord, TaskStore

from ..support.stack import wait_until

PARAMS = TaskParams(prompt="p", max_tokens=2, temperature=0.0, top_p=1.0, stop=("\n",))


def new_id() -> str:
    return f"store-{uuid.uuid4()}"


def test_record_lifecycle_and_retention(redis_client: redis.Redis) -> None:
    store = TaskStore(redis_client, ttl_seconds=3600)
    task_id = new_id()
    created = store.create(task_id, owner="k1", model="m", params=PARAMS, user_id=None)
    assert store.get(task_id) == created and created.status is TaskStatus.QUEUED
    assert created.params == PARAMS  # typed parameters survive the round trip through Redis
    assert 0 < redis_client.ttl(task_key(task_id)) <= 3600
    processing = store.mark_processing(task_id)
    assert processing is not None and processing.status is TaskStatus.PROCESSING and processing.started_at
    assert processing == store.get(task_id)  # what it returns is what it stored
    returned = store.complete(processing, result="text", metrics={"completion_tokens": 2}, finished_at=time.time())
    done = store.get(task_id)
    assert done is not None and done.is_final and (done.result, done.metrics) == ("text", {"completion_tokens": 2})
    assert returned == done
    # A redelivered message finds the task final and leaves it alone
    again = store.mark_processing(task_id)
    assert again is not None and again.status is TaskStatus.COMPLETED


def test_a_record_with_its_own_retention_keeps_it_whoever_writes_it(redis_client: redis.Redis) -> None:
    api, worker = TaskStore(redis_client, ttl_seconds=3600), TaskStore(redis_client, ttl_seconds=7200)
    task_id = new_id()
    api.create(task_id, owner="k1", model="m", params=PARAMS, user_id=None, retention=120)
    kept = [redis_client.ttl(task_key(task_id))]
    processing = worker.mark_processing(task_id)
    assert processing is not None and processing.retention == 120
    kept.append(redis_client.ttl(task_key(task_id)))
    worker.complete(processing, result="text", metrics={}, finished_at=time.time())
    kept += [redis_client.ttl(task_key(task_id)), redis_client.ttl(events_key(task_id))]
    assert all(100 < seconds <= 120 for seconds in kept), kept


def test_failing_an_expired_task_does_not_resurrect_it(redis_client: redis.Redis) -> None:
    store = TaskStore(redis_client, ttl_seconds=3600)
    task_id = new_id()
    expired = TaskRecord(task_id, TaskStatus.PROCESSING, "k1", "m", PARAMS, time.time())  # never stored, or expired
    assert store.fail(expired, error_type="X", error_message="gone") is None
    assert store.get(task_id) is None and store.mark_processing(task_id) is None


def test_heartbeats_expire(redis_client: redis.Redis) -> None:
    beat = heartbeats.Heartbeat("hb-test", ["hb-model"], "transformers", True, 1, "host", 1, time.time())
    heartbeats.publish(redis_client, beat, ttl_seconds=1)
    assert beat in heartbeats.live(redis_client) and "hb-model" in heartbeats.loaded_models([beat])
    wait_until(lambda: beat not in heartbeats.live(redis_client), 5, "the heartbeat to expire")


def test_a_claim_and_a_cancel_of_a_queued_task_never_overwrite_each_other(redis_client: redis.Redis) -> None:
    store = TaskStore(redis_client, ttl_seconds=60)
    # A task cancelled while queued stays cancelled: the worker that takes its message later skips it
    first = store.create(f"c-{uuid.uuid4()}", owner="k", model="m", params=PARAMS, user_id=None)
    assert store.cancel_if_queued(first.task_id).status is TaskStatus.CANCELLED  # type: ignore[union-attr]
    assert store.mark_processing(first.task_id).status is TaskStatus.CANCELLED  # type: ignore[union-attr]
    # A task a worker claimed first is left to it (it ends cancelled at its next step when asked)
    second = store.create(f"c-{uuid.uuid4()}", owner="k", model="m", params=PARAMS, user_id=None)
    assert store.mark_processing(second.task_id).status is TaskStatus.PROCESSING  # type: ignore[union-attr]
    assert store.cancel_if_queued(second.task_id).status is TaskStatus.PROCESSING  # type: ignore[union-attr]
    # A claim whose read is overtaken by a cancel reads again, and finds it final
    third = store.create(f"c-{uuid.uuid4()}", owner="k", model="m", params=PARAMS, user_id=None)
    real_read = store._read
    overtaken: list[bool] = []

    def read_then_cancel(client: object, task_id: str) -> TaskRecord | None:
        found = real_read(client, task_id)
        if not overtaken:
            overtaken.append(True)
            TaskStore(redis_client, ttl_seconds=60).cancel_if_queued(task_id)  # another process, between read and write
        return found

    store._read = read_then_cancel  # type: ignore[method-assign]
    assert store.mark_processing(third.task_id).status is TaskStatus.CANCELLED  # type: ignore[union-attr]
    written = redis_client.xrange(events_key(third.task_id))
    assert [json.loads(fields[DATA_FIELD])["status"] for _, fields in written] == ["queued", "cancelled"]
