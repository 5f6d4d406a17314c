"""OpenAI stream chunks from task events, including a generation that started over after a lost worker."""

from __future__ import annotations

import json
from typing import Any

from api.openai.routes import chunks
from api.openai.serving import Choice, Reply, Shape
from api.openai.tools import ToolMode
from contract.task_params import TaskParams

DONE = {"status": "completed", "metrics": {"finish_reason": "length", "prompt_tokens": 2, "completion_tokens": 3}}
PARAMS = TaskParams(max_tokens=5, temperature=0, top_p=1, prompt="p")


def frames_of(
    events: list[tuple[int, dict[str, Any]]], shape: Shape, n: int = 1, **flags: bool
) -> list[dict[str, Any]]:
    reply = Reply("t", "m", shape, [Choice(index, PARAMS, first_of_prompt=index == 0) for index in range(n)])
    frames = list(chunks(events, reply, flags.get("usage", False), flags.get("every_chunk", False)))
    assert frames[-1] == "data: [DONE]\n\n"
    return [json.loads(frame[len("data: ") :]) for frame in frames[:-1]]


def texts(events: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    payloads = frames_of([(0, event) for event in events], Shape(chat=False))
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


def delta(text: str) -> dict[str, Any]:
    return {"status": "processing", "delta": text}


def test_several_choices_interleave_each_with_its_index_and_usage_adds_up() -> None:
    events = [
        (1, delta("B")),
        (0, delta("a")),
        (1, {**DONE, "result": "B"}),
        (0, delta("b")),
        (0, {**DONE, "result": "ab"}),
    ]
    payloads = frames_of(events, Shape(chat=True), n=2, usage=True)

    content = {0: "", 1: ""}
    for payload in payloads[:-1]:
        choice = payload["choices"][0]
        content[choice["index"]] += choice["delta"].get("content", "")
    assert content == {0: "ab", 1: "B"}
    assert payloads[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 6, "total_tokens": 8}


def test_continuous_usage_puts_the_counts_so_far_in_every_chunk() -> None:
    counted = {**delta("ab"), "usage": {"prompt_tokens": 2, "completion_tokens": 1}}
    payloads = frames_of([(0, counted), (0, {**DONE, "result": "ab"})], Shape(chat=False), every_chunk=True)

    assert all("usage" in payload for payload in payloads)
    assert payloads[1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    assert payloads[-1]["usage"]["completion_tokens"] == 3


def assembled(payloads: list[dict[str, Any]]) -> tuple[str, dict[int, dict[str, str]], int]:
    """(content, calls by index as a client joins them, how many chunks carried call deltas)."""
    deltas = [payload["choices"][0]["delta"] for payload in payloads]
    calls: dict[int, dict[str, str]] = {}
    for call in (call for d in deltas for call in d.get("tool_calls") or []):
        joined = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
        joined["id"] += call.get("id", "")
        joined["name"] += call["function"].get("name", "")
        joined["arguments"] += call["function"]["arguments"]
    carrying = sum(1 for d in deltas if d.get("tool_calls"))
    return "".join(d.get("content") or "" for d in deltas), calls, carrying


def pieces(text: str, size: int) -> list[tuple[int, dict[str, Any]]]:
    return [(0, delta(text[start : start + size])) for start in range(0, len(text), size)]


def test_a_hermes_tool_call_is_not_content_and_its_arguments_stream_as_generated() -> None:
    text = 'Sure. <tool_call>{"name": "get", "arguments": {"city": "Oslo", "days": [1, 2]}}</tool_call>'
    payloads = frames_of([*pieces(text, 7), (0, {**DONE, "result": text})], Shape(chat=True, tools=ToolMode("auto")))
    content, calls, carrying = assembled(payloads)
    assert content.strip() == "Sure." and carrying > 3  # the name, then the arguments piece by piece
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get", {"city": "Oslo", "days": [1, 2]})
    ]
    assert calls[0]["id"].startswith("call_") and payloads[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_named_call_streams_its_arguments_and_required_calls_each_in_turn() -> None:
    named = '{"city": "Oslo"}'
    payloads = frames_of(
        [*pieces(named, 4), (0, {**DONE, "result": named})], Shape(chat=True, tools=ToolMode("named", "get"))
    )
    _, calls, carrying = assembled(payloads)
    assert calls == {0: {"id": calls[0]["id"], "name": "get", "arguments": named}} and carrying > 2
    required = '[{"name": "a", "parameters": {"x": 1}}, {"name": "b", "parameters": {}}]'
    payloads = frames_of(
        [*pieces(required, 5), (0, {**DONE, "result": required})], Shape(chat=True, tools=ToolMode("required"))
    )
    _, calls, _ = assembled(payloads)
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [("a", {"x": 1}), ("b", {})]


def test_a_call_in_another_key_order_comes_whole_at_the_end() -> None:
    text = '<tool_call>{"arguments": {"city": "Oslo"}, "name": "get"}</tool_call>'
    payloads = frames_of([*pieces(text, 9), (0, {**DONE, "result": text})], Shape(chat=True, tools=ToolMode("auto")))
    content, calls, carrying = assembled(payloads)
    assert content == "" and carrying == 1
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [("get", {"city": "Oslo"})]


def token(id_: int, text: str) -> dict[str, Any]:
    return {"id": id_, "token": text, "bytes": list(text.encode()), "logprob": -0.5, "top": []}


def test_streamed_logprobs_go_with_their_text_and_the_last_chunk_has_the_rest() -> None:
    a, b, c = token(1, "a"), token(2, "b"), token(3, "c")
    events = [
        (0, {**delta("a"), "logprobs": [a]}),
        (0, {"status": "processing", "restarted": True}),  # a lost worker: the same token comes again
        (0, {**delta("a"), "logprobs": [a]}),
        (0, {**delta("b"), "logprobs": [b]}),
        (0, {**DONE, "result": "abc", "logprobs": {"tokens": [a, b, c]}}),  # c's text held back to the end
    ]
    chat = [p["choices"][0] for p in frames_of(events, Shape(chat=True, logprobs=True))]
    sent = [[e["token"] for e in (choice["logprobs"] or {}).get("content", [])] for choice in chat]
    assert [tokens for tokens in sent if tokens] == [["a"], ["b"], ["c"]]
    plain = [p["choices"][0]["logprobs"] for p in frames_of(events, Shape(chat=False, logprobs=True))]
    offsets = [(found["tokens"], found["text_offset"]) for found in plain if found]
    assert offsets == [(["a"], [0]), (["b"], [1]), (["c"], [2])]


def test_logprobs_arrive_with_the_finish_reason() -> None:
    entry = {"id": 1, "token": "a", "bytes": [97], "logprob": -0.5, "top": []}
    events = [(0, delta("a")), (0, {**DONE, "result": "a", "logprobs": {"tokens": [entry]}})]
    payloads = frames_of(events, Shape(chat=True, logprobs=True))

    last = payloads[-1]["choices"][0]
    assert last["logprobs"] == {"content": [{"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}]}


def test_an_arguments_value_ends_where_its_json_ends_whatever_its_strings_hold() -> None:
    from api.openai.tool_stream import JsonValueEnd

    text = '{"q": "a}\\"b{", "n": [1, {"x": "]"}]}</tool_call>'
    scanner, reached = JsonValueEnd(), 0
    for stop in range(5, len(text) + 1, 5):  # fed in pieces, as text arrives
        reached, complete = scanner.scan(text[:stop], reached)
        if complete:
            break
    assert complete and text[:reached] == '{"q": "a}\\"b{", "n": [1, {"x": "]"}]}'
    assert JsonValueEnd().scan("true, ", 0) == (4, True) and JsonValueEnd().scan("12", 0) == (2, False)


def test_usage_says_how_many_prompt_tokens_came_from_the_prefix_cache_once_per_prompt() -> None:
    cached = {**DONE, "metrics": {**DONE["metrics"], "cached_tokens": 16}}  # type: ignore[dict-item]
    events = [(1, {**cached, "result": "B"}), (0, {**cached, "result": "ab"})]
    payloads = frames_of(events, Shape(chat=True), n=2, usage=True)
    # The prompt is counted once (the first choice's), and so are its cached tokens
    assert payloads[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 16}
    # A worker that does not say (the paged engine) leaves the detail out, as OpenAI does where it does not apply
    plain = frames_of([(0, {**DONE, "result": "ab"})], Shape(chat=True), usage=True)
    assert "prompt_tokens_details" not in plain[-1]["usage"]
