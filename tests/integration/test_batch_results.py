"""A batch line's answer is recorded once, with its batch's counts, from the task record's final write."""

from __future__ import annotations

import uuid

import redis

from contract import batch_results
from contract.batch_results import BatchLine
from contract.names import batch_key, batch_results_key, task_key
from contract.task_params import TaskParams
from contract.task_store import TaskStore


def new_batch(client: redis.Redis, total: int) -> str:
    batch_id = f"batch_{uuid.uuid4().hex}"
    client.hset(batch_key(batch_id), mapping={"total": total, "completed": 0, "failed": 0})
    client.expire(batch_key(batch_id), 600)
    return batch_id


def line_task(store: TaskStore, batch_id: str, line: int) -> str:
    task_id = str(uuid.uuid4())
    store.create(
        task_id,
        owner="k",
        model="m",
        params=TaskParams(prompt="p", max_tokens=1, temperature=0, top_p=1),
        user_id=None,
        batch_line=BatchLine(batch_id, line),
    )
    return task_id


def test_the_first_final_word_on_a_line_wins_and_counts_once(redis_client: redis.Redis) -> None:
    store = TaskStore(redis_client, 600)
    batch_id = new_batch(redis_client, 2)
    first, second = line_task(store, batch_id, 0), line_task(store, batch_id, 1)
    # When one line fails, then is completed (a late worker), and the other completes
    record = store.get(first)
    assert record is not None and record.batch_line == BatchLine(batch_id, 0)
    store.fail(record, error_type="Cancelled", error_message="cancelled")
    store.complete(record, result="late", metrics={}, finished_at=0.0)
    other = store.get(second)
    assert other is not None
    store.complete(other, result="text", metrics={"completion_tokens": 1}, finished_at=0.0)
    # Then each line has one answer, the first given, and the counts add up to the lines
    found = batch_results.read(redis_client, batch_id)
    assert found[0]["status"] == "failed" and found[1]["result"] == "text"
    counts = redis_client.hmget(batch_key(batch_id), ["completed", "failed"])
    assert counts == ["1", "1"]
    # and the answers live as long as their batch
    assert 0 < redis_client.ttl(batch_results_key(batch_id)) <= 600


def test_a_line_of_a_batch_that_is_gone_records_nothing(redis_client: redis.Redis) -> None:
    store = TaskStore(redis_client, 600)
    batch_id = new_batch(redis_client, 1)
    task_id = line_task(store, batch_id, 0)
    redis_client.delete(batch_key(batch_id))
    record = store.get(task_id)
    assert record is not None
    store.complete(record, result="text", metrics={}, finished_at=0.0)
    assert not redis_client.exists(batch_results_key(batch_id), batch_key(batch_id))


def test_a_lines_record_keeps_the_retention_its_batch_gave_it(redis_client: redis.Redis) -> None:
    # Given a line created by the api with its batch's long retention
    batch_id = new_batch(redis_client, 1)
    task_id = line_task(TaskStore(redis_client, 600), batch_id, 0)
    # When a worker, whose RESULT_TTL is shorter, takes it
    worker = TaskStore(redis_client, 60)
    record = worker.mark_processing(task_id)
    assert record is not None
    # Then the record keeps its own retention (a line handed back after a lost worker may wait that long)
    assert redis_client.ttl(task_key(task_id)) > 60
    worker.complete(record, result="t", metrics={}, finished_at=0.0)
    assert redis_client.ttl(task_key(task_id)) > 60
