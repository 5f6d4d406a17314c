"""Usage is counted once per task, in its final write, by key and model, in minute and day buckets."""

from __future__ import annotations

import time
import uuid

import redis

from contract import usage
from contract.names import usage_bucket_key
from contract.task_params import TaskParams
from contract.task_store import TaskStore

PARAMS = TaskParams(prompt="p", max_tokens=2, temperature=0.0, top_p=1.0)


def mine(found: list[usage.Usage], owner: str) -> list[usage.Usage]:
    return [entry for entry in found if entry.api_key_id == owner]


def test_a_task_finished_twice_is_counted_once_and_a_failure_counts_its_request(redis_client: redis.Redis) -> None:
    store, owner, now = TaskStore(redis_client, ttl_seconds=3600), f"key-{uuid.uuid4().hex[:8]}", time.time()
    before = mine(usage.totals(redis_client), owner)
    # Given a task that completes, then completes again (a redelivered message run a second time)
    record = store.create(f"u-{uuid.uuid4()}", owner=owner, model="m", params=PARAMS, user_id=None)
    metrics = {"prompt_tokens": 7, "completion_tokens": 2}
    for _ in range(2):
        assert store.complete(record, result="ab", metrics=metrics, finished_at=now) is not None
    # and another that fails
    failed = store.create(f"u-{uuid.uuid4()}", owner=owner, model="m", params=PARAMS, user_id=None)
    store.fail(failed, error_type="TimeoutError", error_message="late")
    after = time.time()
    # Then the key's usage holds one completion's tokens and two requests, in each bucket and the totals
    expected = [usage.Usage(f"key-{owner}", owner, "m", input_tokens=7, output_tokens=2, num_model_requests=2)]
    assert before == []
    assert mine(usage.totals(redis_client), owner) == expected
    for width in (usage.MINUTE, usage.DAY):
        starts = sorted({usage.bucket_start(now, width), usage.bucket_start(after, width)})  # a minute may turn
        found = [entry for start in starts for entry in mine(usage.bucket(redis_client, width, start), owner)]
        assert sum(entry.num_model_requests for entry in found) == 2
        assert sum(entry.input_tokens for entry in found) == 7 and sum(entry.output_tokens for entry in found) == 2
        assert 0 < redis_client.ttl(usage_bucket_key(width, starts[0])) <= usage.RETENTION[width]
