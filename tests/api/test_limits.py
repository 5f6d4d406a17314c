"""Bounds the api keeps by itself, before any worker: a full queue refuses with 503 and stores nothing."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask.testing import FlaskClient

from contract.names import TASK_KEY_PATTERN
from contract.queue_depth import waiting_requests

from ..support.stack import API_KEY, RedisServer
from .conftest import MODEL

HEADERS = {"X-API-Key": API_KEY}


def test_a_full_queue_is_503_with_retry_after_and_stores_nothing(
    client_with: Callable[..., FlaskClient], api_redis: RedisServer
) -> None:
    # Given an api with a queue of 3, full (no worker here takes anything)
    client = client_with(3, max_queue_length=3)
    queue = redis.Redis.from_url(api_redis.url(3), decode_responses=True)
    accepted = [
        client.post("/generate", headers=HEADERS, json={"prompt": "wait", "max_tokens": 1}).get_json()["task_id"]
        for _ in range(3)
    ]
    tasks = set(queue.scan_iter(match=TASK_KEY_PATTERN))
    # When one more comes
    refused = client.post("/generate", headers=HEADERS, json={"prompt": "x", "max_tokens": 1})
    # Then it is 503 naming the model, with a Retry-After of at least the queue's 10 s (the rate limiter raises
    # it to its own window's reset, if later)
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 10
    assert refused.get_json()["field"] == "model" and "Queue full" in refused.get_json()["error"]
    # and nothing of it was stored or queued; the accepted ones are untouched and still waiting
    assert set(queue.scan_iter(match=TASK_KEY_PATTERN)) == tasks and waiting_requests(queue, MODEL) == 3  # type: ignore[arg-type]
    for task_id in accepted:
        assert client.get(f"/status/{task_id}", headers=HEADERS).get_json()["status"] == "queued"
