"""What a streamed response sends of its text as it comes: after a lost worker, only what the new attempt
adds beyond what was sent; with function tools, nothing that may be a call."""

from __future__ import annotations

import json
from typing import Any

from api.openai.tools import ToolMode
from api.responses.streaming import ResponseEvents


def events(tools: str = "off") -> ResponseEvents:
    found = ResponseEvents(store=None, task_id="t", background=False, tools=ToolMode(tools))  # type: ignore[arg-type]
    found.started = found.opened = True  # their events need the store; not what this tests
    return found


def frames(found: ResponseEvents, *updates: dict[str, object]) -> list[dict[str, Any]]:
    return [
        json.loads(frame.split("data: ", 1)[1])
        for update in updates
        for frame in found._feed({"status": "processing", **update})
    ]


def sent(found: ResponseEvents, *updates: dict[str, object]) -> str:
    return "".join(event["delta"] for event in frames(found, *updates) if event["type"] == "response.output_text.delta")


def test_deltas_after_a_restart_are_sent_only_past_what_was_sent() -> None:
    found = events()
    first = sent(found, {"delta": "abc"}, {"delta": "de"})
    again = sent(found, {"restarted": True}, {"delta": "ab"}, {"delta": "cdef"}, {"delta": "g"})
    assert (first, again) == ("abcde", "fg")


def test_text_that_may_be_a_tool_call_is_held_back() -> None:
    found = events("auto")
    assert sent(found, {"delta": "Let me check <tool"}) == "Let me check "
    assert sent(found, {"delta": '_call>{"name": "weather"'}, {"delta": "}</tool_call>"}) == ""


def test_a_forced_call_streams_no_text_but_its_item_and_arguments_as_they_come() -> None:
    pieces = ['[{"name": "weather", "param', 'eters": {"city": ', '"Oslo"}}]']
    streamed = events("required")
    streamed.opened = False  # no message: the call is the first output item
    found = frames(streamed, *({"delta": piece} for piece in pieces))
    assert [event["type"] for event in found] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
    ]
    added = found[0]["item"]
    assert (added["type"], added["name"], added["call_id"], found[0]["output_index"]) == (
        "function_call",
        "weather",
        "call_t_0",
        0,
    )
    assert "".join(event["delta"] for event in found[1:]) == '{"city": "Oslo"}'
