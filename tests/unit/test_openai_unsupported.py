"""unsupported(): OpenAI parameters this service does not implement are refused by name, except at the
neutral value a client library sends by default; a field nobody here knows is ignored (and logged), as
vLLM does, so a client that always sends one of its own never fails."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel

from api.openai.protocol import NEUTRAL, ChatCompletionRequest, CompletionRequest, unsupported

COMPLETION: dict[str, Any] = {"model": "m", "prompt": "Hello"}
CHAT: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
BOTH = pytest.mark.parametrize(
    ("schema", "body"),
    [
        pytest.param(CompletionRequest, COMPLETION, id="completions"),
        pytest.param(ChatCompletionRequest, CHAT, id="chat"),
    ],
)
VLLM_EXTRAS: dict[str, Any] = {
    "top_k": 5,
    "min_p": 0.1,
    "repetition_penalty": 1.1,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"5": 3},
    "min_tokens": 2,
    "ignore_eos": True,
    "stop_token_ids": [7],
    "include_stop_str_in_output": True,
    "skip_special_tokens": False,
    "n": 2,
    "best_of": 2,
    "stream_options": {"include_usage": True, "continuous_usage_stats": True},
}


@BOTH
def test_every_implemented_parameter_passes_and_parses(schema: type[BaseModel], body: dict[str, Any]) -> None:
    full = {**body, "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "stop": ["x"], "seed": 1, "user": "u"}
    full = {**full, "stream": True, **VLLM_EXTRAS}

    assert unsupported(full, schema) is None
    parsed: Any = schema.model_validate(full)
    assert parsed.sampling()["logit_bias"] == {5: 3}
    assert parsed.sampling()["stop_token_ids"] == (7,)
    assert parsed.usage_in_every_chunk()


@BOTH
def test_an_unknown_field_is_ignored_and_logged(
    schema: type[BaseModel], body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert unsupported({**body, "frobnicate": 3}, schema) is None

    assert "frobnicate" in caplog.text
    assert not hasattr(schema.model_validate({**body, "frobnicate": 3}), "frobnicate")


NON_NEUTRAL: list[tuple[str, Any, str]] = [
    ("suffix", "end", "suffix='end' is not supported here (only None)"),
    ("functions", [{"name": "f"}], "functions=[{'name': 'f'}] is not supported here (only None)"),
    ("function_call", "auto", "function_call='auto' is not supported here (only None)"),
    ("audio", {"voice": "x"}, "audio={'voice': 'x'} is not supported here (only None)"),
    ("modalities", ["audio"], "modalities=['audio'] is not supported here (only None or ['text'])"),
    ("prediction", {"type": "content"}, "prediction={'type': 'content'} is not supported here (only None)"),
    ("web_search_options", {}, "web_search_options={} is not supported here (only None)"),
    ("reasoning_effort", "low", "reasoning_effort='low' is not supported here (only None)"),
    ("store", True, "store=True is not supported here (only None or False)"),
]


def test_the_table_covers_every_neutral_only_parameter() -> None:
    assert {name for name, _, _ in NON_NEUTRAL} == set(NEUTRAL)


@BOTH
@pytest.mark.parametrize(("name", "value", "message"), NON_NEUTRAL, ids=[row[0] for row in NON_NEUTRAL])
def test_an_unsupported_parameter_is_refused_at_a_non_neutral_value(
    schema: type[BaseModel], body: dict[str, Any], name: str, value: Any, message: str
) -> None:
    assert unsupported({**body, name: value}, schema) == (name, message)


@BOTH
@pytest.mark.parametrize(("name", "neutral"), [(name, value) for name, values in NEUTRAL.items() for value in values])
def test_an_unsupported_parameter_is_accepted_at_its_neutral_value(
    schema: type[BaseModel], body: dict[str, Any], name: str, neutral: Any
) -> None:
    assert unsupported({**body, name: neutral}, schema) is None


@BOTH
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 2, "best_of": 3}, "best_of"),
        ({"top_k": -2}, "top_k"),
        ({"min_p": 1.5}, "min_p"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"logit_bias": {"x": 1}}, "logit_bias"),
        ({"logit_bias": {"5": 101}}, "logit_bias"),
        ({"stop_token_ids": [-1]}, "stop_token_ids"),
        ({"min_tokens": -1}, "min_tokens"),
        ({"n": 0}, "n"),
        ({"stream_options": {"continuous_usage_stats": "yes"}}, "stream_options.continuous_usage_stats"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    schema: type[BaseModel], body: dict[str, Any], extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError) as refused:
        schema.model_validate({**body, **extra})

    assert field in str(refused.value)


def test_completion_prompts_may_be_strings_or_token_ids() -> None:
    def prompts(prompt: Any) -> list[Any]:
        return CompletionRequest.model_validate({**COMPLETION, "prompt": prompt}).prompts()

    assert prompts("a") == ["a"]
    assert prompts(["a", "b"]) == ["a", "b"]
    assert prompts([1, 2]) == [(1, 2)]
    assert prompts([[1, 2], [3]]) == [(1, 2), (3,)]
    for bad in ([], [" "], [[]], [[-1]]):
        with pytest.raises(ValueError):
            prompts(bad)


def test_chat_tool_choice_needs_tools_that_name_it() -> None:
    tool = {"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}
    ok = ChatCompletionRequest.model_validate(
        {**CHAT, "tools": [tool], "tool_choice": {"type": "function", "function": {"name": "get"}}}
    )
    assert ok.tool_choice is not None
    for bad in (
        {"tool_choice": "required"},
        {"tools": [tool], "tool_choice": {"type": "function", "function": {"name": "other"}}},
        {"tools": [tool], "tool_choice": "required", "response_format": {"type": "json_object"}},
        {"top_logprobs": 2},
        {"response_format": {"type": "json_schema"}},
    ):
        with pytest.raises(ValueError):
            ChatCompletionRequest.model_validate({**CHAT, **bad})
