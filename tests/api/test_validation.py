"""Bad input gets 400 (413 for size) naming the field and the rule, and nothing is enqueued."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contract.names import TASK_KEY_PATTERN
from contract.queue_depth import waiting_requests

from ..support.stack import API_KEY, RedisServer
from .conftest import MODEL

HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}

CASES: list[tuple[str, Any, str, str]] = [
    # id, body (a str or bytes is sent raw), field named, words the message must contain
    ("not json", "{", "body", "Invalid JSON"),
    ("json array", "[1, 2]", "body", "JSON object"),
    ("invalid utf-8", b'{"prompt": "\xff\xfe"}', "body", "Invalid JSON"),
    ("missing prompt", {"max_tokens": 5}, "prompt", "required"),
    ("empty prompt", {"prompt": ""}, "prompt", "at least 1 character"),
    ("blank prompt", {"prompt": "  \n "}, "prompt", "whitespace"),
    ("prompt not a string", {"prompt": 42}, "prompt", "valid string"),
    ("max_tokens zero", {"prompt": "x", "max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
    ("max_tokens negative", {"prompt": "x", "max_tokens": -3}, "max_tokens", "greater than or equal to 1"),
    ("max_tokens over limit", {"prompt": "x", "max_tokens": 2049}, "max_tokens", "at most 2048"),
    ("max_tokens float", {"prompt": "x", "max_tokens": 1.5}, "max_tokens", "valid integer"),
    ("max_tokens string", {"prompt": "x", "max_tokens": "10"}, "max_tokens", "valid integer"),
    ("max_tokens bool", {"prompt": "x", "max_tokens": True}, "max_tokens", "valid integer"),
    ("temperature low", {"prompt": "x", "temperature": -0.1}, "temperature", "greater than or equal to 0"),
    ("temperature high", {"prompt": "x", "temperature": 2.5}, "temperature", "less than or equal to 2"),
    ("temperature string", {"prompt": "x", "temperature": "hot"}, "temperature", "valid number"),
    ("top_p bool", {"prompt": "x", "top_p": True}, "top_p", "valid number"),
    ("temperature NaN", '{"prompt": "x", "temperature": NaN}', "temperature", "finite"),
    ("top_p zero", {"prompt": "x", "top_p": 0}, "top_p", "greater than 0"),
    ("top_p high", {"prompt": "x", "top_p": 1.01}, "top_p", "less than or equal to 1"),
    ("top_p infinite", '{"prompt": "x", "top_p": Infinity}', "top_p", "finite"),
    ("unknown field", {"prompt": "x", "stream": True}, "stream", "not permitted"),
    ("unknown model", {"prompt": "x", "model": "no-such-model"}, "model", "unknown model"),
    ("user_id too long", {"prompt": "x", "user_id": "u" * 129}, "user_id", "at most 128"),
    ("duplicate keys", '{"prompt": "a", "prompt": "b"}', "prompt", "more than once"),
    ("deep nesting", '{"prompt": ' + "[" * 20_000 + "]" * 20_000 + "}", "body", "nested too deeply"),
    ("huge integer", '{"prompt": "x", "max_tokens": 1' + "0" * 5000 + "}", "body", "Invalid JSON"),
    ("huge float", '{"prompt": "x", "temperature": 1e999}', "temperature", "finite"),
]


def task_count(client: redis.Redis) -> int:
    return sum(1 for _ in client.scan_iter(match=TASK_KEY_PATTERN, count=1000))


def send(client: FlaskClient, body: Any) -> TestResponse:
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return client.post("/generate", headers=HEADERS, data=data)


@pytest.mark.parametrize(("body", "field", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_400_naming_the_field_and_enqueues_nothing(
    client: FlaskClient, redis_client: redis.Redis, body: Any, field: str, words: str
) -> None:
    # Given the number of task records before
    before = task_count(redis_client)
    # When a bad body is sent
    response = send(client, body)
    # Then it is refused with the field and the rule, and no task was created
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()
    assert error["status_code"] == 400 and error["field"] == field
    assert field in error["error"] and words.lower() in error["error"].lower(), error
    assert task_count(redis_client) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_declared_json_is_415(
    client: FlaskClient, redis_client: redis.Redis, content_type: str
) -> None:
    before = task_count(redis_client)
    response = client.post(
        "/generate", data=b'{"prompt": "hi"}', headers={"X-API-Key": API_KEY, "Content-Type": content_type}
    )
    assert response.status_code == 415 and response.get_json()["field"] == "Content-Type"
    assert task_count(redis_client) == before


def test_a_very_long_prompt_within_the_body_limit_is_accepted_and_one_past_it_is_413(client: FlaskClient) -> None:
    # The tier's app takes 64 KiB bodies (MAX_REQUEST_BYTES); the worker then bounds it in tokens
    assert send(client, {"prompt": "y" * 60_000, "max_tokens": 1}).status_code == 202
    assert send(client, {"prompt": "y" * 70_000, "max_tokens": 1}).status_code == 413


def test_every_bad_field_is_listed(client: FlaskClient) -> None:
    response = send(client, {"prompt": "", "max_tokens": 0, "surprise": 1})
    assert response.status_code == 400
    assert {error["field"] for error in response.get_json()["errors"]} == {"prompt", "max_tokens", "surprise"}


def test_body_over_the_size_limit_is_413(client: FlaskClient, redis_client: redis.Redis) -> None:
    before = task_count(redis_client)
    response = send(client, {"prompt": "x" * 70_000})  # the tier's app allows 65,536 bytes
    assert response.status_code == 413
    assert response.get_json()["field"] == "body" and "65536" in response.get_json()["error"]
    assert task_count(redis_client) == before


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "temperature": 0, "top_p": 1, "max_tokens": 1},
        {"prompt": "x", "temperature": 2.0, "top_p": 0.01, "max_tokens": 1, "user_id": "u", "model": "tiny"},
    ],
)
def test_values_on_the_bounds_are_accepted(client: FlaskClient, body: dict[str, Any]) -> None:
    assert send(client, body).status_code == 202


def test_a_malformed_last_event_id_is_400_naming_it(client: FlaskClient) -> None:
    task_id = send(client, {"prompt": "resume me", "max_tokens": 2}).get_json()["task_id"]
    response = client.get(f"/stream/{task_id}", headers={"X-API-Key": API_KEY, "Last-Event-ID": "not-an-id"})
    assert response.status_code == 400 and response.get_json()["field"] == "Last-Event-ID"


@pytest.fixture(scope="module")
def webhooks_client(client_with: Callable[..., FlaskClient]) -> FlaskClient:
    """An api that may call back localhost only (the batch route's metadata.callback_url: e2e's test_webhooks)."""
    return client_with(2, webhook_allowed_hosts="localhost", webhook_secret="webhook-test-secret")


@pytest.mark.parametrize(
    ("callback", "why"),
    [
        ("http://127.0.0.1:9/x", "not allowed by WEBHOOK_ALLOWED_HOSTS"),
        ("http://169.254.169.254/latest/meta-data", "not allowed by WEBHOOK_ALLOWED_HOSTS"),
        ("ftp://localhost/x", "http:// or https://"),
        ("http://user:pw@localhost/x", "credentials"),
        ("localhost/x", "http:// or https://"),
    ],
)
def test_a_callback_to_a_host_not_allowed_is_refused_and_nothing_is_queued(
    webhooks_client: FlaskClient, api_redis: RedisServer, callback: str, why: str
) -> None:
    queue = redis.Redis.from_url(api_redis.url(2))
    queue.flushdb()
    answer = webhooks_client.post("/generate", headers=HEADERS, json={"prompt": "p", "callback_url": callback})
    assert answer.status_code == 400 and answer.get_json()["field"] == "callback_url"
    assert why in answer.get_json()["error"]
    assert waiting_requests(queue, MODEL) == 0 and task_count(queue) == 0
    # while an allowed one is taken
    allowed = webhooks_client.post(
        "/generate", headers=HEADERS, json={"prompt": "p", "callback_url": "http://localhost:9/x"}
    )
    assert allowed.status_code == 202 and waiting_requests(queue, MODEL) == 1
