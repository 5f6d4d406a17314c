"""API keys: missing or wrong is 401; a task is visible only to the key that created it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ..support.stack import API_KEY, OTHER_KEY

ROUTES = [("post", "/generate"), ("get", "/status/some-id"), ("get", "/result/some-id")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "not-a-key"}, {"X-API-Key": API_KEY + "x"}])
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
    for route in ("status", "result"):
        # When another valid key asks for it, or anyone asks for an id that does not exist
        theirs = client.get(f"/{route}/{task_id}", headers={"X-API-Key": OTHER_KEY})
        unknown = client.get(f"/{route}/no-such-task", headers={"X-API-Key": API_KEY})
        # Then both are the same 404, and the owner still sees it
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.get_json() == unknown.get_json() == {"error": "Task not found", "status_code": 404}
        mine = client.get(f"/{route}/{task_id}", headers={"X-API-Key": API_KEY})
        assert mine.status_code == 200
