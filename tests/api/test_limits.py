"""Bounds the api keeps by itself, before any worker: a full queue refuses with 503 and stores nothing; a
full Redis refuses with 503 and keeps what it had."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import redis
from flask.testing import FlaskClient

from api.app import create_app
from contract.names import TASK_KEY_PATTERN
from contract.queue_depth import waiting_requests

from ..support.stack import API_KEY, OTHER_KEY, RedisServer
from .conftest import MODEL, settings

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


def test_a_full_redis_is_503_with_retry_after_and_keeps_what_it_had(tmp_path: Path) -> None:
    # Given a Redis at its memory bound with the chart's policy (noeviction)
    full = RedisServer(tmp_path, extra=("--maxmemory", "4mb", "--maxmemory-policy", "noeviction")).start()
    try:
        client = create_app(settings(full, tmp_path / "logs")).test_client()
        accepted = client.post("/generate", headers={"X-API-Key": API_KEY}, json={"prompt": "kept"})
        assert accepted.status_code == 202
        filler = redis.Redis.from_url(full.url())
        with contextlib.suppress(redis.ResponseError):
            for index in range(10_000):
                filler.set(f"filler-{index}", "x" * 4096)
        # When a request comes, it is refused with a clear 503 and Retry-After, not a 500
        refused = client.post("/generate", headers={"X-API-Key": API_KEY}, json={"prompt": "more"})
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert "full" in refused.get_json()["error"]
        # and what was accepted before is still there, readable
        task_id = accepted.get_json()["task_id"]
        assert client.get(f"/status/{task_id}", headers={"X-API-Key": API_KEY}).get_json()["status"] == "queued"
    finally:
        full.stop()


def test_one_key_cannot_hold_every_stream(client_with: Callable[..., FlaskClient]) -> None:
    bounded = client_with(8, max_open_streams_per_key=2, api_keys=f"{API_KEY},{OTHER_KEY}")
    task_id = bounded.post("/generate", headers=HEADERS, json={"prompt": "never served"}).get_json()["task_id"]
    # Given two streams open with one key (a streamed response holds its place until it is closed)
    held = [bounded.get(f"/stream/{task_id}", headers=HEADERS, buffered=False) for _ in range(2)]
    assert [response.status_code for response in held] == [200, 200]
    # Then a third with that key is 429, and another key still gets one
    third = bounded.get(f"/stream/{task_id}", headers=HEADERS, buffered=False)
    assert third.status_code == 429 and "MAX_OPEN_STREAMS_PER_KEY" in third.get_json()["error"]
    other_task = bounded.post("/generate", headers={"X-API-Key": OTHER_KEY}, json={"prompt": "x"}).get_json()
    other = bounded.get(f"/stream/{other_task['task_id']}", headers={"X-API-Key": OTHER_KEY}, buffered=False)
    assert other.status_code == 200
    # And closing one gives its key the place back
    held[0].close()
    again = bounded.get(f"/stream/{task_id}", headers=HEADERS, buffered=False)
    assert again.status_code == 200
    for response in (held[1], other, again):
        response.close()


def test_one_key_cannot_store_more_than_its_daily_bytes(
    client_with: Callable[..., FlaskClient], api_redis: RedisServer
) -> None:
    bounded = client_with(9, max_stored_bytes_per_day=1_048_576, api_keys=f"{API_KEY},{OTHER_KEY}")
    body = {"prompt": "x", "max_tokens": 2048}  # about 8.7 KB a record, counted with the text it may generate
    answers = [bounded.post("/generate", headers=HEADERS, json=body) for _ in range(130)]
    codes = [answer.status_code for answer in answers]
    accepted = codes.count(202)
    assert 100 <= accepted < 130 and codes[accepted:] == [429] * (130 - accepted)  # then every one refused
    refused = answers[-1]
    assert (
        refused.get_json()["error"].endswith("(MAX_STORED_BYTES_PER_DAY)") and int(refused.headers["Retry-After"]) >= 1
    )
    queue = redis.Redis.from_url(api_redis.url(9))
    assert sum(1 for _ in queue.scan_iter(match=TASK_KEY_PATTERN, count=1000)) == accepted  # none stored past it
    # A batch of that key is refused the same way; another key is not held back
    line = (
        '{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "x", "max_tokens": 2048}}\n'
    )
    upload = bounded.post(
        "/v1/files",
        data={"purpose": "batch", "file": (io.BytesIO(line.encode()), "in.jsonl")},
        headers=HEADERS,
        content_type="multipart/form-data",
    )
    batch = {"input_file_id": upload.get_json()["id"], "endpoint": "/v1/completions", "completion_window": "24h"}
    assert bounded.post("/v1/batches", headers=HEADERS, json=batch).status_code == 429
    assert bounded.post("/generate", headers={"X-API-Key": OTHER_KEY}, json=body).status_code == 202
