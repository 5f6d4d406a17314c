"""OpenAI's Responses API through the official `openai` client, on a real api, worker and Redis: a response
answered whole, a conversation continued with previous_response_id, a background response retrieved, one
cancelled mid-way, deleted, and its input items."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest
import redis

from contract.task_store import TaskStore

from ..support.stack import API_KEY, Api, RedisServer, wait_until


@pytest.fixture
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)


def test_a_response_is_answered_and_a_conversation_continues(client: openai.OpenAI, redis_server: RedisServer) -> None:
    # A plain response is answered whole, in OpenAI's shape
    first = client.responses.create(model="tiny", input="Hello there", instructions="Be brief.", max_output_tokens=8)
    assert first.status in ("completed", "incomplete") and first.output_text
    assert first.usage is not None and 1 <= first.usage.output_tokens <= 8
    assert first.usage.total_tokens == first.usage.input_tokens + first.usage.output_tokens  # type: ignore[union-attr]
    # Continued: the model is asked the earlier exchange (without its instructions), then the new input
    second = client.responses.create(
        model="tiny", input="And then?", previous_response_id=first.id, max_output_tokens=4
    )
    assert second.previous_response_id == first.id and second.instructions is None
    asked = TaskStore(redis.Redis.from_url(redis_server.url(), decode_responses=True), 60).get(second.id[5:])
    assert asked is not None and asked.params.messages == [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "And then?"},
    ]
    # The same conversation asked again starts after what the worker's prefix cache holds, and says so
    again = client.responses.create(model="tiny", input="And then?", previous_response_id=first.id, max_output_tokens=4)
    assert again.usage is not None and 0 < again.usage.input_tokens_details.cached_tokens < again.usage.input_tokens
    # Its input items are its own input only
    assert [item.content[0].text for item in client.responses.input_items.list(second.id)] == ["And then?"]  # type: ignore[union-attr]


def test_a_background_response_is_retrieved_and_one_cancelled_mid_way(client: openai.OpenAI) -> None:
    queued = client.responses.create(model="tiny", input="later", background=True, max_output_tokens=4)
    assert queued.status in ("queued", "in_progress", "completed", "incomplete")
    done = wait_until(
        lambda: (found := client.responses.retrieve(queued.id)).status in ("completed", "incomplete") and found,
        60,
        "the background response",
    )
    assert done.output_text and done.background
    # One that runs long is cancelled while it runs, and ends cancelled
    long = client.responses.create(model="tiny", input="long", background=True, max_output_tokens=1000, temperature=0)
    wait_until(lambda: client.responses.retrieve(long.id).status == "in_progress", 30, "it to run")
    client.responses.cancel(long.id)
    wait_until(lambda: client.responses.retrieve(long.id).status == "cancelled", 30, "it to end cancelled")
    # and deleted, it is gone
    client.responses.delete(long.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(long.id)


def test_a_streamed_response_sends_openais_events_in_order(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="tiny", input="Stream me", max_output_tokens=16, stream=True))
    kinds = [event.type for event in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:-1] == ["response.output_text.done", "response.content_part.done", "response.output_item.done"]
    assert kinds[-1] in ("response.completed", "response.incomplete")
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    final = events[-1].response  # type: ignore[union-attr]
    assert deltas == events[-4].text == final.output_text and final.usage is not None  # type: ignore[union-attr]
    # and what was streamed is stored: retrieved afterwards, the same response
    assert client.responses.retrieve(final.id).output_text == deltas


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 12}, "celsius": {"type": "boolean"}},
        "required": ["city", "celsius"],
        "additionalProperties": False,
    },
}
THING = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 10}, "ok": {"type": "boolean"}},
    "required": ["name", "ok"],
    "additionalProperties": False,
}


def test_a_function_call_is_answered_and_its_output_continues_the_conversation(
    client: openai.OpenAI, redis_server: RedisServer
) -> None:
    # A forced call: its arguments follow the function's schema even from a model that knows no tools
    called = client.responses.create(
        model="tiny",
        input="Weather in Oslo?",
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=120,
        temperature=0,
    )
    [call] = [item for item in called.output if item.type == "function_call"]
    assert call.name == "get_weather" and called.tools[0].name == "get_weather"  # type: ignore[union-attr]
    jsonschema.validate(json.loads(call.arguments), WEATHER["parameters"])
    assert client.responses.retrieve(called.id).output[0].call_id == call.call_id  # type: ignore[union-attr]
    # Its output given back: the model is asked the call and its result, in its chat template's terms
    answered = client.responses.create(
        model="tiny",
        previous_response_id=called.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"sky": "clear"}'}],
        max_output_tokens=4,
    )
    asked = TaskStore(redis.Redis.from_url(redis_server.url(), decode_responses=True), 60).get(answered.id[5:])
    assert asked is not None and asked.params.messages is not None and asked.params.tools is None
    assert asked.params.messages[1:] == [
        {"role": "assistant", "content": "", "tool_calls": [_chat_call(call)]},
        {"role": "tool", "tool_call_id": call.call_id, "content": '{"sky": "clear"}'},
    ]
    listed = client.responses.input_items.list(answered.id)
    assert [item.type for item in listed] == ["function_call_output"]


def _chat_call(call: Any) -> dict[str, Any]:
    return {"id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def test_a_required_call_streams_as_a_function_call_item_with_its_arguments_as_they_come(
    client: openai.OpenAI,
) -> None:
    events = list(
        client.responses.create(
            model="tiny",
            input="Weather?",
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "function", "name": "get_weather"},
            max_output_tokens=120,
            temperature=0,
            stream=True,
        )
    )
    kinds = [event.type for event in events]
    assert "response.output_text.delta" not in kinds
    first = kinds.index("response.output_item.added")
    deltas = [event.delta for event in events if event.type == "response.function_call_arguments.delta"]  # type: ignore[union-attr]
    assert len(deltas) > 1 and kinds[first + 1 : first + 1 + len(deltas)] == [
        "response.function_call_arguments.delta"
    ] * len(deltas)
    assert kinds[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    done = events[-2].item  # type: ignore[union-attr]
    assert done.type == "function_call" and "".join(deltas) == done.arguments == events[-3].arguments  # type: ignore[union-attr]
    assert events[-1].response.output[-1].call_id == done.call_id == events[first].item.call_id  # type: ignore[union-attr]


def test_text_format_json_schema_gives_json_that_validates(client: openai.OpenAI) -> None:
    done = client.responses.create(
        model="tiny",
        input="Describe a thing",
        text={"format": {"type": "json_schema", "name": "thing", "schema": THING}},
        max_output_tokens=80,
        temperature=0,
    )
    assert done.status == "completed" and done.text.format.type == "json_schema"  # type: ignore[union-attr]
    jsonschema.validate(json.loads(done.output_text), THING)


def test_a_response_not_stored_is_answered_then_forgotten(client: openai.OpenAI, redis_server: RedisServer) -> None:
    answered = client.responses.create(model="tiny", input="Just this once", store=False, max_output_tokens=4)
    assert answered.status in ("completed", "incomplete") and answered.output_text and answered.store is False
    assert TaskStore(redis.Redis.from_url(redis_server.url()), 60).get(answered.id[5:]) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(answered.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="tiny", input="and then?", previous_response_id=answered.id)
    streamed = list(client.responses.create(model="tiny", input="once", store=False, max_output_tokens=4, stream=True))
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(streamed[-1].response.id)  # type: ignore[union-attr]
