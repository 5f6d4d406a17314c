"""The batch supervisor's recovery paths, against a real Redis: a finalize cut short ends as it was meant
to, and a creation that died part-way fails its batch and stops what it had queued."""

from __future__ import annotations

import time
import uuid

import redis

from api.batches.files import FileStore
from api.batches.store import Batch, BatchStore, NewBatch
from api.batches.supervisor import INTERRUPTED_AFTER_SECONDS, Supervisor
from contract import batch_results, events
from contract.batch_results import BatchLine
from contract.names import OPEN_BATCHES_KEY, batch_key
from contract.statuses import BatchStatus
from contract.task_params import TaskParams
from contract.task_store import TaskStore


def supervisor(client: redis.Redis) -> tuple[Supervisor, BatchStore, TaskStore]:
    batches, tasks = BatchStore(client, 3600, 3600), TaskStore(client, 3600)
    return Supervisor(client, batches, FileStore(client, 3600), tasks, webhook_ttl=60), batches, tasks


def line(task_id: str) -> dict[str, object]:
    shape = {"chat": False, "logprobs": False, "tools": {"kind": "off", "name": None}}
    return {
        "custom_id": task_id,
        "task_id": task_id,
        "model": "m",
        "shape": shape,
        "echo": False,
        "params": {"prompt": "p", "max_tokens": 1, "temperature": 0, "top_p": 1},
    }


def running(batches: BatchStore, **options: object) -> Batch:
    owner = f"owner-{uuid.uuid4().hex}"
    batch_id = batches.reserve(owner, 1)
    assert batch_id is not None
    batch = batches.move(
        batches.create(batch_id, NewBatch(owner, "/v1/completions", "file-x", "24h", None, **options)),
        BatchStatus.IN_PROGRESS,
    )  # type: ignore[arg-type]
    assert batch is not None
    return batch


def test_a_finalize_cut_short_ends_as_it_was_meant_to(redis_client: redis.Redis) -> None:
    sup, batches, _ = supervisor(redis_client)
    batch = running(batches)
    # A process chose "cancelled", moved the batch to finalizing, and died before writing its files
    cancelling = batches.move(batch, BatchStatus.CANCELLING)
    assert cancelling is not None and batches.move(cancelling, BatchStatus.FINALIZING, ending="cancelled")
    sup.advance(batch.batch_id)
    done = batches.get(batch.batch_id)
    assert done is not None and done.status is BatchStatus.CANCELLED and done.fields["cancelled_at"]
    assert batch.batch_id not in [found for found, _ in batches.open_ids()]
    assert batches.reserve(batch.owner, 1) is not None  # its open slot is free again


def test_an_ended_batch_is_neither_finalized_again_nor_cancelled(redis_client: redis.Redis) -> None:
    sup, batches, _ = supervisor(redis_client)
    batch = running(batches)
    redis_client.zadd(OPEN_BATCHES_KEY, {batch.batch_id: 0})  # a sweep's list, read before it ended
    sup.finalize(batch, BatchStatus.COMPLETED)
    ended = batches.get(batch.batch_id)
    assert ended is not None and ended.status is BatchStatus.COMPLETED
    # A late sweep, and a cancel that read the batch while it was in progress, change nothing
    redis_client.zadd(OPEN_BATCHES_KEY, {batch.batch_id: 0})
    sup.advance(batch.batch_id)
    assert batches.move(batch, BatchStatus.CANCELLING) is None
    assert batches.get(batch.batch_id) == ended
    assert batch.batch_id not in [found for found, _ in batches.open_ids()]


def test_open_batches_are_reserved_atomically_up_to_the_bound(redis_client: redis.Redis) -> None:
    _, batches, _ = supervisor(redis_client)
    owner = f"owner-{uuid.uuid4().hex}"
    first, second = batches.reserve(owner, 2), batches.reserve(owner, 2)
    assert first and second and batches.reserve(owner, 2) is None
    batches.release(owner, first)
    assert batches.reserve(owner, 2) is not None


def test_a_creation_that_died_part_way_fails_its_batch_and_stops_its_lines(redis_client: redis.Redis) -> None:
    sup, batches, tasks = supervisor(redis_client)
    task_id = str(uuid.uuid4())
    params = TaskParams(prompt="p", max_tokens=1, temperature=0, top_p=1)
    tasks.create(task_id, owner="o", model="m", params=params, user_id=None)
    batch = batches.create(
        "batch_interrupted" + uuid.uuid4().hex,
        NewBatch("o", "/v1/completions", "file-x", "24h", None, lines=[line(task_id)]),
    )
    sup.advance(batch.batch_id)  # still within its creation's time: left alone
    assert batches.get(batch.batch_id).status is BatchStatus.VALIDATING  # type: ignore[union-attr]
    # Created long before INTERRUPTED_AFTER_SECONDS ago
    redis_client.hset(batch_key(batch.batch_id), "created_at", str(int(time.time()) - INTERRUPTED_AFTER_SECONDS - 1))
    sup.advance(batch.batch_id)
    failed = batches.get(batch.batch_id)
    assert failed is not None and failed.status is BatchStatus.FAILED
    errors = failed.as_openai().errors
    assert errors is not None and errors.data[0].code == "creation_interrupted"
    assert tasks.cancel_requested(task_id)


def test_a_batch_answered_in_full_completes_even_when_swept_past_its_window(redis_client: redis.Redis) -> None:
    sup, batches, _ = supervisor(redis_client)
    batch = running(batches, lines=[line("only")])
    redis_client.hset(batch_key(batch.batch_id), mapping={"expires_at": "1"})  # its window has passed
    with redis_client.pipeline(transaction=False) as pipe:  # and its one line was answered
        batch_results.record(pipe, BatchLine(batch.batch_id, 0), events.completed_event("text", {}))
        pipe.execute()
    sup.advance(batch.batch_id)
    done = batches.get(batch.batch_id)
    assert done is not None and done.status is BatchStatus.COMPLETED and done.fields["output_file_id"]
