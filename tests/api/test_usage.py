"""GET /v1/organization/usage/completions: a key reads its own usage in OpenAI's bucket shape, an admin key
everyone's; tasks are counted by the task store's final write (as a worker's would be)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis
from flask.testing import FlaskClient

from api.http.auth import key_id
from contract import usage
from contract.task_params import TaskParams
from contract.task_store import TaskStore

from ..support.stack import API_KEY
from .conftest import ADMIN_KEY

PARAMS = TaskParams(prompt="p", max_tokens=2, temperature=0.0, top_p=1.0)
PATH = "/v1/organization/usage/completions"


def finish(
    client: redis.Redis, owner: str, model: str, prompt: int, completion: int, at: float, tenant: str | None = None
) -> None:
    store = TaskStore(client, ttl_seconds=3600)
    task_id = f"usage-{uuid.uuid4()}"
    record = store.create(task_id, owner=owner, model=model, params=PARAMS, user_id=None, tenant=tenant)
    metrics = {"prompt_tokens": prompt, "completion_tokens": completion}
    store.complete(record, result="x", metrics=metrics, finished_at=at)


def read(client: FlaskClient, key: str, **query: Any) -> Any:
    response = client.get(PATH, headers={"Authorization": f"Bearer {key}"}, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_key_reads_its_own_usage_and_an_admin_everyones(client: FlaskClient, redis_client: redis.Redis) -> None:
    # Given tasks finished a week ago (a day no other test writes) by this key on two models, and by another
    day = usage.bucket_start(time.time() - 7 * usage.DAY, usage.DAY)
    mine, theirs = key_id(API_KEY), f"other-{uuid.uuid4().hex[:8]}"
    finish(redis_client, mine, "m1", 10, 3, day + 100)
    finish(redis_client, mine, "m2", 5, 1, day + 200)
    finish(redis_client, theirs, "m1", 7, 7, day + 300, tenant="team-x")
    window = {"start_time": day, "end_time": day + usage.DAY}
    # Then the key sees its own two, summed, or by model
    (bucket,) = read(client, API_KEY, **window)["data"]
    assert (bucket["object"], bucket["start_time"], bucket["end_time"]) == ("bucket", day, day + usage.DAY)
    [total] = bucket["results"]
    assert (total["input_tokens"], total["output_tokens"], total["num_model_requests"]) == (15, 4, 2)
    by_model = read(client, API_KEY, **window, group_by="model")["data"][0]["results"]
    assert [(r["model"], r["input_tokens"]) for r in by_model] == [("m1", 10), ("m2", 5)]
    # And an admin key sees every key's, by key
    by_key = read(client, ADMIN_KEY, **window, group_by="api_key_id")["data"][0]["results"]
    assert {(r["api_key_id"], r["num_model_requests"]) for r in by_key} >= {(mine, 2), (theirs, 1)}
    # or by tenant, OpenAI's project (a key no tenant lists is its own, key-<key id>)
    by_tenant = read(client, ADMIN_KEY, **window, group_by="project_id")["data"][0]["results"]
    assert {(r["project_id"], r["input_tokens"]) for r in by_tenant} >= {(f"key-{mine}", 15), ("team-x", 7)}


def test_buckets_page_and_bad_queries_name_the_field(client: FlaskClient) -> None:
    start = usage.bucket_start(time.time() - 30 * usage.MINUTE, usage.MINUTE)
    page = read(client, API_KEY, start_time=start, end_time=start + 3 * usage.MINUTE, bucket_width="1m", limit=2)
    assert [b["start_time"] for b in page["data"]] == [start, start + 60] and page["has_more"]
    rest = read(client, API_KEY, start_time=start, end_time=start + 180, bucket_width="1m", page=page["next_page"])
    assert [b["start_time"] for b in rest["data"]] == [start + 120] and not rest["has_more"]
    for query, field in (({"start_time": start, "bucket_width": "1h"}, "bucket_width"), ({}, "start_time")):
        refused = client.get(PATH, headers={"Authorization": f"Bearer {API_KEY}"}, query_string=query)
        assert refused.status_code == 400 and refused.get_json()["error"]["param"] == field
