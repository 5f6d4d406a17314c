"""OpenAI stream chunks from task events, including a generation that started over after a lost worker."""

from __future__ import annotations

import json
from typing import Any

from api.openai_format import Reply
from api.routes.openai_routes import chunks

DONE = {"status": "completed", "metrics": {"finish_reason": "length", "prompt_tokens": 2, "completion_tokens": 3}}


def texts(events: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    frames = list(chunks(events, Reply("t", "m", chat=False), usage=False))
    assert frames[-1] == "data: [DONE]\n\n"
    payloads = [json.loads(frame[len("data: ") :]) for frame in frames[:-1]]
    text = "".join(p["choices"][0]["text"] for p in payloads if "choices" in p and p["choices"])
    return text, payloads


def test_deltas_become_chunks_then_the_finish_reason() -> None:
    text, payloads = texts([{"status": "processing", "delta": "ab"}, {"status": "processing", "delta": "c"}, DONE])
    assert text == "abc" and payloads[-1]["choices"][0]["finish_reason"] == "length"


def test_a_restart_with_the_same_text_sends_nothing_twice() -> None:
    events = [
        {"status": "processing", "delta": "hel"},
        {"status": "processing", "restarted": True},
        {"status": "processing", "delta": "he"},
        {"status": "processing", "delta": "llo"},
        DONE,
    ]
    assert texts(events)[0] == "hello"


def test_a_restart_with_different_text_ends_the_stream_with_an_error() -> None:
    events = [
        {"status": "processing", "delta": "abc"},
        {"status": "processing", "restarted": True},
        {"status": "processing", "delta": "xyz"},
        DONE,
    ]
    text, payloads = texts(events)
    assert text == "abc" and payloads[-1]["error"]["code"] == "restarted"
