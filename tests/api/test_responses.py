"""The Responses API in the api tier (no worker: background responses only, which wait in the queue):
shapes, validation by name, cancel and delete, input items, another key's 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from flask.testing import FlaskClient

from contract.names import task_key

from ..support.stack import API_KEY, OTHER_KEY, RedisServer

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def create(client: FlaskClient, **body: Any) -> Any:
    return client.post("/v1/responses", headers=HEADERS, json={"background": True, **body})


def test_a_background_response_is_queued_retrieved_cancelled_and_deleted(client: FlaskClient) -> None:
    answer = create(client, input="Hello", instructions="Be brief.", metadata={"team": "a"}, max_output_tokens=8)
    assert answer.status_code == 200
    created = answer.get_json()
    assert created["id"].startswith("resp_") and created["object"] == "response"
    assert (created["status"], created["output"], created["usage"], created["background"]) == ("queued", [], None, True)
    assert (created["instructions"], created["metadata"], created["max_output_tokens"]) == (
        "Be brief.",
        {"team": "a"},
        8,
    )
    path = f"/v1/responses/{created['id']}"
    assert client.get(path, headers=HEADERS).get_json()["status"] == "queued"
    # another key's response is as good as absent
    assert client.get(path, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 404
    # cancelled while queued: at once
    assert client.post(f"{path}/cancel", headers=HEADERS).get_json()["status"] == "cancelled"
    assert client.get(path, headers=HEADERS).get_json()["status"] == "cancelled"
    # deleted: gone
    deleted = client.delete(path, headers=HEADERS).get_json()
    assert deleted == {"id": created["id"], "object": "response", "deleted": True}
    assert client.get(path, headers=HEADERS).status_code == 404


def test_input_items_list_the_responses_own_input(client: FlaskClient) -> None:
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": [{"type": "input_text", "text": "three"}]},
    ]
    created = create(client, input=messages).get_json()
    listed = client.get(f"/v1/responses/{created['id']}/input_items", headers=HEADERS).get_json()
    assert [item["content"][0]["text"] for item in listed["data"]] == ["three", "two", "one"]  # newest first
    assert listed["data"][0]["role"] == "user" and not listed["has_more"]
    page = client.get(
        f"/v1/responses/{created['id']}/input_items", headers=HEADERS, query_string={"order": "asc", "limit": 1}
    ).get_json()
    assert [item["content"][0]["text"] for item in page["data"]] == ["one"] and page["has_more"]


WEATHER = {"type": "function", "name": "weather", "parameters": {"type": "object"}}
JSON_FORMAT = {"format": {"type": "json_object"}}


def test_what_is_not_implemented_is_refused_by_name(client: FlaskClient) -> None:
    for body, field in (
        ({"input": "x", "stream": "yes"}, "stream"),
        ({"input": "x", "store": False}, "store"),  # a background response must be stored
        ({"input": "x", "store": "no"}, "store"),
        ({"input": "x", "background": False, "store": False, "metadata": {"callback_url": "http://x"}}, "store"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools.0.type"),  # function tools only
        ({"input": "x", "tool_choice": "required"}, "tool_choice"),  # no tools
        ({"input": "x", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
        ({"input": "x", "tools": [WEATHER], "tool_choice": "required", "text": JSON_FORMAT}, "text"),
        ({"input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}, "text.format.json_schema.schema"),
        ({"input": "x", "text": {"format": {"type": "xml"}}}, "text.format"),
        ({"input": [{"type": "function_call_output", "output": "1"}]}, "input.0.function_call_output.call_id"),
        ({"input": ""}, "input"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
    ):
        refused = create(client, **body)
        assert refused.status_code == 400, body
        assert refused.get_json()["error"]["param"] == field, body


def test_only_a_completed_response_continues(client: FlaskClient) -> None:
    queued = create(client, input="first").get_json()
    refused = create(client, input="second", previous_response_id=queued["id"])
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "previous_response_id"
    missing = create(client, input="second", previous_response_id="resp_nope")
    assert missing.status_code == 404 and missing.get_json()["error"]["param"] == "previous_response_id"


def test_a_response_is_kept_for_responses_ttl(client_with: Callable[..., FlaskClient], api_redis: RedisServer) -> None:
    kept = client_with(5, responses_ttl=300)
    created = kept.post("/v1/responses", json={"input": "x", "background": True}, headers=HEADERS).get_json()
    seconds = redis.Redis.from_url(api_redis.url(5)).ttl(task_key(created["id"].removeprefix("resp_")))
    assert 250 < seconds <= 300  # not RESULT_TTL's day
