"""What a streamed response sends of its text as it comes: after a lost worker, only what the new attempt
adds beyond what was sent; with function tools, nothing that may be a call."""

from __future__ import annotations

import json

from api.openai.tools import ToolMode
from api.responses.streaming import ResponseEvents


def events(tools: str = "off") -> ResponseEvents:
    found = ResponseEvents(store=None, task_id="t", background=False, tools=ToolMode(tools))  # type: ignore[arg-type]
    found.started = found.opened = True  # their events need the store; not what this tests
    return found


def sent(found: ResponseEvents, *updates: dict[str, object]) -> str:
    text = ""
    for update in updates:
        for frame in found._feed({"status": "processing", **update}):
            text += json.loads(frame.split("data: ", 1)[1])["delta"]
    return text


def test_deltas_after_a_restart_are_sent_only_past_what_was_sent() -> None:
    found = events()
    first = sent(found, {"delta": "abc"}, {"delta": "de"})
    again = sent(found, {"restarted": True}, {"delta": "ab"}, {"delta": "cdef"}, {"delta": "g"})
    assert (first, again) == ("abcde", "fg")


def test_text_that_may_be_a_tool_call_is_held_back() -> None:
    found = events("auto")
    assert sent(found, {"delta": "Let me check <tool"}) == "Let me check "
    assert sent(found, {"delta": '_call>{"name": "weather"'}, {"delta": "}</tool_call>"}) == ""


def test_a_forced_call_streams_no_text() -> None:
    assert sent(events("required"), {"delta": '[{"name": "weather", "parameters": {}}]'}) == ""
