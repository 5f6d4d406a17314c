"""Bounded everything, and no one let in where they don't belong: each promise caused on purpose against
a real api and Redis."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
import requests

from ..support.stack import Api, RedisServer, Started, parse_sse, sample, scrape, submit, wait_until

KEY_A, KEY_B = "bounds-key-a", "bounds-key-b"


@pytest.fixture(scope="module")
def bounded_api(module_started: Started, redis_server: RedisServer, model_settings: dict[str, object]) -> Api:
    """A model no worker serves (requests wait), SSE connections of 2 s at most. (A full queue, and another
    key's task: tests/api, which needs no Gunicorn for them.)"""
    settings = {**model_settings, "served_model_name": "bounded-nobody"}
    return module_started.api(
        redis_server.url(db=9),
        api_keys=f"{KEY_A},{KEY_B}",
        sse_max_seconds=2,
        rate_limit_per_minute=1000,
        rate_limit_burst=1000,
        **settings,
    )


@pytest.fixture(autouse=True)
def empty_database(redis_server: RedisServer) -> None:
    """Each test starts with an empty queue and no tasks in the bounded api's database."""
    redis.Redis.from_url(redis_server.url(db=9)).flushdb()


def post(api: Api, headers: dict[str, str], path: str = "/generate") -> requests.Response:
    return requests.post(api.url(path), headers=headers, json={"prompt": "x", "max_tokens": 1}, timeout=10)


def test_an_sse_connection_ends_at_its_longest_life_and_resumes_without_loss(bounded_api: Api) -> None:
    task_id = submit(bounded_api, key=KEY_A, prompt="stream me", max_tokens=1)
    started = time.monotonic()
    with requests.get(
        bounded_api.url(f"/stream/{task_id}"), headers={"X-API-Key": KEY_A}, stream=True, timeout=30
    ) as response:
        lines = list(response.iter_lines(decode_unicode=True))
    assert 2 <= time.monotonic() - started < 10  # SSE_MAX_SECONDS=2 ended it, not the client
    assert any("SSE_MAX_SECONDS reached" in line for line in lines)
    first = parse_sse(lines)
    assert [event["data"]["status"] for event in first] == ["queued"]
    # Reconnecting after the last id repeats nothing
    with requests.get(
        bounded_api.url(f"/stream/{task_id}"),
        stream=True,
        timeout=30,
        headers={"X-API-Key": KEY_A, "Last-Event-ID": first[-1]["id"]},
    ) as again:
        assert parse_sse(again.iter_lines(decode_unicode=True)) == []


def open_streams(api: Api) -> float:
    """What the api reports: SSE connections its workers hold open now."""
    return sample(scrape(api.url("/metrics")), "llm_service:sse_streams_open")


def test_a_client_that_drops_its_sse_connection_frees_it_at_once(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # No keep-alive and no end of life for an hour: only noticing the closed socket can free the stream
    # within the deadline below, which is generous so that a loaded machine cannot miss it.
    settings = {**model_settings, "served_model_name": "x", "sse_keepalive_seconds": 3600, "sse_max_seconds": 3600}
    api = started.api(redis_server.url(db=10), api_keys=KEY_A, **settings)
    task_id = submit(api, key=KEY_A, prompt="never served", max_tokens=1)
    response = requests.get(api.url(f"/stream/{task_id}"), headers={"X-API-Key": KEY_A}, stream=True, timeout=30)
    assert response.status_code == 200, response.text
    first_line = next(response.iter_lines())  # the first event arrived: the stream is open
    wait_until(lambda: open_streams(api) == 1, 60, f"the stream to be counted (it began {first_line!r})")
    response.close()  # the client goes away mid-stream
    wait_until(lambda: open_streams(api) == 0, 60, "the stream to be freed")


def test_the_rate_limit_cannot_be_dodged(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    api = started.api(redis_server.url(db=11), api_keys=f"{KEY_A},{KEY_B}", **model_settings)
    spellings = ["X-API-Key", "x-api-key", "X-API-KEY", "X-Api-Key"]
    codes = [post(api, {spellings[index % 4]: KEY_A}).status_code for index in range(11)]
    assert codes == [202] * 10 + [429]
    # A second key in the query string of /generate is ignored: the header's key is limited
    assert post(api, {"X-API-Key": KEY_A}, path=f"/generate?api_key={KEY_B}").status_code == 429
    # Two X-API-Key headers are not a way to pick the one with budget left: the request is refused
    connection = http.client.HTTPConnection(urlparse(api.url("/")).netloc, timeout=10)
    connection.putrequest("POST", "/generate")
    for key in (KEY_B, KEY_A):
        connection.putheader("X-API-Key", key)
    connection.putheader("Content-Type", "application/json")
    body = b'{"prompt": "x", "max_tokens": 1}'
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    assert connection.getresponse().status in (400, 401)
    # And the other key still has its whole budget
    assert post(api, {"X-API-Key": KEY_B}).status_code == 202


def test_no_server_version_no_stack_traces_and_cors_off_by_default(bounded_api: Api) -> None:
    responses = [
        requests.get(bounded_api.url("/health"), headers={"Origin": "https://elsewhere.example"}, timeout=5),
        requests.post(bounded_api.url("/generate"), data=b"\xff{", headers={"X-API-Key": KEY_A}, timeout=5),
        requests.post(
            bounded_api.url("/generate"),
            data='{"prompt": "x", "max_tokens": 1e999}',
            headers={"X-API-Key": KEY_A, "Content-Type": "application/json"},
            timeout=5,
        ),
        requests.get(bounded_api.url("/status/" + "x" * 5000), headers={"X-API-Key": KEY_A}, timeout=5),
        requests.options(
            bounded_api.url("/generate"),
            headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
        ),
    ]
    for response in responses:
        # No product, no version (Gunicorn's own answer to an over-long request line has no Server header)
        assert response.headers.get("Server", "llm-service") == "llm-service"
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Traceback" not in response.text and 'File "' not in response.text


def raw_request(api: Api, head: str) -> tuple[str, dict[str, str], bytes]:
    """Sends bytes no HTTP client would; returns the status line, the headers and the body."""
    address = urlparse(api.url("/"))
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode("latin-1"))
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    top, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = top.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    ("head", "status", "field"),
    [
        ("GET /status/" + "x" * 5000 + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request line"),
        ("GET /health HTTP/1.1\r\nHost: a\r\nX-Large: " + "y" * 9000 + "\r\n\r\n", 431, "headers"),
        ("GET /health HTTP/1.1\r\nHost: a\r\n" + "X-Many: 1\r\n" * 120 + "\r\n", 431, "headers"),
        ("GET /he alth HTTP/1.1\r\nHost: a\r\n\r\n", 400, None),
        ("GET /health HTTP/1.1\r\nBad Header: a\r\n\r\n", 400, None),
    ],
    ids=["request line too long", "header too large", "too many headers", "bad request line", "bad header"],
)
def test_requests_the_server_itself_refuses_get_the_api_error_shape(
    bounded_api: Api, head: str, status: int, field: str | None
) -> None:
    status_line, headers, body = raw_request(bounded_api, head)
    assert status_line.split()[:2] == ["HTTP/1.1", str(status)]
    assert headers["content-type"] == "application/json" and int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert error["status_code"] == status and error.get("field") == field and error["error"], error


def test_cors_when_configured_allows_only_the_listed_origins(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    api = started.api(
        redis_server.url(db=12), api_keys=KEY_A, cors_allowed_origins="https://app.example", **model_settings
    )
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key,content-type",
    }
    allowed = requests.options(api.url("/generate"), headers=preflight, timeout=5)
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "x-api-key" in allowed.headers["Access-Control-Allow-Headers"].lower()
    other = requests.get(api.url("/health"), headers={"Origin": "https://elsewhere.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_keys_rotate_through_the_key_file_without_a_restart(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object], tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("# rotated by the Secret\nold-key-0001\n")
    api = started.api(redis_server.url(db=13), api_keys="", api_keys_file=key_file, **model_settings)
    assert post(api, {"X-API-Key": "old-key-0001"}).status_code == 202
    key_file.write_text("new-key-0002,other-key-0003\n")  # rotation: the old key goes, new ones come
    wait_until(lambda: post(api, {"X-API-Key": "new-key-0002"}).status_code == 202, 60, "the new key")
    assert post(api, {"X-API-Key": "other-key-0003"}).status_code == 202
    assert post(api, {"X-API-Key": "old-key-0001"}).status_code == 401
