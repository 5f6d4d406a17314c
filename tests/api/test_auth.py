"""API keys: missing or wrong is 401; a task is visible only to the key that created it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from ..support.stack import API_KEY, OTHER_KEY

ROUTES = [("post", "/generate"), ("get", "/status/some-id"), ("get", "/result/some-id")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": API_KEY + "x"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": API_KEY},  # not a Bearer credential
    ],
)
def test_missing_or_wrong_key_is_401_json(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> None:
    response = client.open(path, method=method.upper(), headers=headers, json={"prompt": "hi"})
    assert response.status_code == 401
    body = response.get_json()
    assert body["status_code"] == 401 and "API key" in body["error"]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/result/some-id", "the X-API-Key header or as Authorization: Bearer <key>"),
        ("/stream/some-id", "the X-API-Key header or as Authorization: Bearer <key>, or as ?api_key="),
    ],
)
def test_a_missing_key_is_told_where_to_send_it(client: FlaskClient, path: str, where: str) -> None:
    response = client.get(path)
    assert response.status_code == 401 and response.get_json()["error"] == f"Missing API key: send it in {where}"


def test_health_needs_no_key(client: FlaskClient) -> None:
    assert client.get("/health").status_code == 200


def test_another_keys_task_is_404_like_an_unknown_one(client: FlaskClient) -> None:
    # Given a task created with one key (no worker here: it stays queued, which changes nothing)
    created = client.post("/generate", headers={"X-API-Key": API_KEY}, json={"prompt": "mine", "max_tokens": 2})
    task_id = created.get_json()["task_id"]
    for route in ("status", "result", "stream"):
        # When another valid key asks for it, or anyone asks for an id that does not exist
        theirs = client.get(f"/{route}/{task_id}", headers={"X-API-Key": OTHER_KEY})
        unknown = client.get(f"/{route}/no-such-task", headers={"X-API-Key": API_KEY})
        # Then both are the same 404
        assert theirs.status_code == unknown.status_code == 404, route
        assert theirs.get_json() == unknown.get_json() == {"error": "Task not found", "status_code": 404}
    # the other key in the stream's query string too
    assert client.get(f"/stream/{task_id}?api_key={OTHER_KEY}").status_code == 404
    # And the owner still sees it (its stream, which would wait for a worker, is e2e's)
    for route in ("status", "result"):
        assert client.get(f"/{route}/{task_id}", headers={"X-API-Key": API_KEY}).status_code == 200


def test_a_key_in_the_query_string_counts_on_the_stream_route_only(client: FlaskClient) -> None:
    created = client.post("/generate", headers={"X-API-Key": API_KEY}, json={"prompt": "mine", "max_tokens": 2})
    task_id = created.get_json()["task_id"]
    # A valid key as ?api_key= is no key at all on the other routes
    for path in (f"/status/{task_id}", f"/result/{task_id}"):
        assert client.get(f"{path}?api_key={API_KEY}").status_code == 401, path
    assert client.post(f"/generate?api_key={API_KEY}", json={"prompt": "x"}).status_code == 401
    # and a wrong one is 401 on the stream route (the right one streams: see e2e's test_stream)
    wrong = client.get(f"/stream/{task_id}?api_key=not-a-key")
    assert wrong.status_code == 401 and "API key" in wrong.get_json()["error"]


def test_an_address_sending_wrong_keys_is_throttled_and_valid_keys_still_pass(
    client_with: Callable[..., FlaskClient],
) -> None:
    throttled = client_with(7, wrong_key_limit_per_minute=3)
    wrong = [throttled.get("/status/x", headers={"X-API-Key": f"guess-{n}"}) for n in range(5)]
    assert [response.status_code for response in wrong] == [401, 401, 401, 429, 429]
    assert int(wrong[-1].headers["Retry-After"]) >= 1 and "wrong API key" in wrong[-1].get_json()["error"]
    # A key of API_KEYS, checked without Redis, is not held back by the guesses from its address
    assert throttled.get("/status/x", headers={"X-API-Key": API_KEY}).status_code == 404
