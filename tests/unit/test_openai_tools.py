"""Tool calls out of generated text: vLLM's Hermes format in auto mode, and the constrained JSON of a
required or named call."""

from __future__ import annotations

import json

from api.openai.tools import ToolMode, held_back, tool_calls


def named(calls: list[dict]) -> list[tuple[str, dict]]:
    return [(call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls]


def test_hermes_calls_are_parsed_with_the_text_before_them_as_content() -> None:
    text = (
        'Let me look.\n<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": {}}</tool_call>'
    )
    content, calls = tool_calls(ToolMode("auto"), text)

    assert content == "Let me look."
    assert named(calls) == [("a", {"x": 1}), ("b", {})]
    assert all(call["id"].startswith("call_") and call["type"] == "function" for call in calls)


def test_an_unclosed_last_call_still_parses_and_a_broken_one_leaves_the_text() -> None:
    assert named(tool_calls(ToolMode("auto"), '<tool_call>{"name": "a", "arguments": {}}')[1]) == [("a", {})]
    broken = '<tool_call>{"name": "a", "argu'
    assert tool_calls(ToolMode("auto"), broken) == (broken, [])


def test_text_without_calls_or_with_tools_off_is_just_content() -> None:
    assert tool_calls(ToolMode("auto"), "hello") == ("hello", [])
    text = '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
    assert tool_calls(ToolMode("off"), text) == (text, [])


def test_required_and_named_outputs_are_the_constrained_json() -> None:
    required = '[{"name": "a", "parameters": {"x": 2}}, {"name": "b", "parameters": {}}]'
    assert named(tool_calls(ToolMode("required"), required)[1]) == [("a", {"x": 2}), ("b", {})]
    assert named(tool_calls(ToolMode("named", "a"), '{"x": 3}')[1]) == [("a", {"x": 3})]
    assert tool_calls(ToolMode("required"), '[{"name": "a", "par') == ('[{"name": "a", "par', [])


def test_held_back_covers_a_call_and_any_start_of_its_tag() -> None:
    assert held_back("hello") == 0
    assert held_back("hello <tool") == len("<tool")
    assert held_back("hi <tool_call>{") == len("<tool_call>{")
