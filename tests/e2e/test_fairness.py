"""Tenants sharing one worker, end to end: one tenant's backlog does not hold back another's first request,
and a tenant's requests in flight are bounded, then let in again as they end."""

from __future__ import annotations

import redis
import requests

from contract import model_registry, tenants
from contract.task_store import TaskStore
from contract.tenants import Limits, Tenant

from ..support.stack import API_KEY, OTHER_KEY, RedisServer, Started, submit, wait_for_final

BATCH = 4


def test_a_backlog_does_not_hold_back_another_tenants_first_request(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given one worker running 4 requests at once, and two keys (each its own tenant)
    settings = {**model_settings, "served_model_name": "fair", "max_batch_size": BATCH}
    url = redis_server.url(db=11)
    api = started.api(url, api_keys=f"{API_KEY},{OTHER_KEY}", rate_limit_burst=1000, **settings)
    started.worker(url, **settings)
    # When A submits 24 long requests, then B one short one
    body = {"max_tokens": 200, "temperature": 0, "ignore_eos": True}
    backlog = [submit(api, API_KEY, prompt=f"a{index}", **body) for index in range(24)]
    theirs = submit(api, OTHER_KEY, prompt="b", max_tokens=8, temperature=0, ignore_eos=True)
    wait_for_final(api, theirs, OTHER_KEY)
    for task_id in backlog:
        wait_for_final(api, task_id, timeout=300)
    # Then B's request started once a slot turned over, ahead of A's backlog: of A's requests, only those
    # running or next in line when it arrived started before it (first come, first served: all 24)
    store = TaskStore(redis.Redis.from_url(url, decode_responses=True), 3600)
    b_started = store.get(theirs).started_at  # type: ignore[union-attr]
    ahead = [task_id for task_id in backlog if store.get(task_id).started_at < b_started]  # type: ignore[union-attr, operator]
    assert len(ahead) <= 2 * BATCH + 1, f"{len(ahead)} of A's requests started before B's"


def test_requests_in_flight_are_bounded_and_let_in_again_as_they_end(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given a tenant declared (as the operator publishes it) with one request in flight at most
    settings = {**model_settings, "served_model_name": "inflight"}
    url = redis_server.url(db=12)
    db = redis.Redis.from_url(url, decode_responses=True)
    key = "in-flight-key"
    tenants.publish(db, Tenant("solo", "default/solo", [model_registry.digest(key)], limits=Limits(max_in_flight=1)))
    api = started.api(url, api_keys=API_KEY, **settings)
    started.worker(url, **settings)
    # When it sends one request, then another while the first runs
    first = submit(api, key, prompt="one", max_tokens=64, temperature=0, ignore_eos=True)
    refused = requests.post(api.url("/generate"), headers={"X-API-Key": key}, json={"prompt": "two"}, timeout=10)
    # Then the second is refused, naming the limit
    assert refused.status_code == 429 and refused.json()["limit"] == "max_in_flight"
    assert refused.headers["Retry-After"] == "1"
    # and once the first has ended (its place is given back in the same write), the next is let in
    result = wait_for_final(api, first, key)
    assert result["status"] == "completed"
    assert submit(api, key, prompt="three", max_tokens=4)
    # The api counted the prompt with the tokenizer the worker published: as many tokens as the worker's
    reservation = TaskStore(db, 3600).get(first).reservation  # type: ignore[union-attr]
    assert reservation is not None and reservation.input_tokens == result["metrics"]["prompt_tokens"] == 3
