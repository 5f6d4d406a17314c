"""A streamed response whose worker was lost mid-way starts its text over: deltas already sent are not sent
again, only what the new attempt adds beyond them."""

from __future__ import annotations

import json

from api.responses.streaming import ResponseEvents


def sent(events: ResponseEvents, *updates: dict[str, object]) -> str:
    text = ""
    for update in updates:
        for frame in events._feed({"status": "processing", **update}):
            text += json.loads(frame.split("data: ", 1)[1])["delta"]
    return text


def test_deltas_after_a_restart_are_sent_only_past_what_was_sent() -> None:
    events = ResponseEvents(store=None, task_id="t", background=False)  # type: ignore[arg-type]
    events.opened = True  # its opening events need the store; not what this tests
    first = sent(events, {"delta": "abc"}, {"delta": "de"})
    again = sent(events, {"restarted": True}, {"delta": "ab"}, {"delta": "cdef"}, {"delta": "g"})
    assert (first, again) == ("abcde", "fg")
