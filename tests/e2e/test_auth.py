"""API keys: missing or wrong is 401; a task is visible only to the key that created it."""

from __future__ import annotations

import pytest
import requests

from ..support.stack import API_KEY, OTHER_KEY, Api, wait_for_final

ROUTES = [("post", "/generate"), ("get", "/status/some-id"), ("get", "/result/some-id")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "not-a-key"}, {"X-API-Key": API_KEY + "x"}])
def test_missing_or_wrong_key_is_401_json(api: Api, method: str, path: str, headers: dict[str, str]) -> None:
    response = requests.request(method, api.url(path), headers=headers, json={"prompt": "hi"}, timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body["status_code"] == 401 and "API key" in body["error"]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/result/some-id", "the X-API-Key header or as Authorization: Bearer <key>"),
        ("/stream/some-id", "the X-API-Key header or as Authorization: Bearer <key>, or as ?api_key="),
    ],
)
def test_a_missing_key_is_told_where_to_send_it(api: Api, path: str, where: str) -> None:
    response = requests.get(api.url(path), timeout=5)
    assert response.status_code == 401 and response.json()["error"] == f"Missing API key: send it in {where}"


def test_health_needs_no_key(api: Api) -> None:
    assert requests.get(api.url("/health"), timeout=5).status_code == 200


def test_another_keys_task_is_404_like_an_unknown_one(api: Api) -> None:
    # Given a task created with one key
    created = requests.post(
        api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "mine", "max_tokens": 2}, timeout=5
    )
    task_id = created.json()["task_id"]
    wait_for_final(api, task_id)
    for route in ("status", "result"):
        # When another valid key asks for it, or anyone asks for an id that does not exist
        theirs = requests.get(api.url(f"/{route}/{task_id}"), headers={"X-API-Key": OTHER_KEY}, timeout=5)
        unknown = requests.get(api.url(f"/{route}/no-such-task"), headers={"X-API-Key": API_KEY}, timeout=5)
        # Then both are the same 404, and the owner still sees it
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json() == {"error": "Task not found", "status_code": 404}
        mine = requests.get(api.url(f"/{route}/{task_id}"), headers={"X-API-Key": API_KEY}, timeout=5)
        assert mine.status_code == 200
