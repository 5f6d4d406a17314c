"""unsupported(): OpenAI parameters this service does not implement are refused by name, except at the
neutral value a client library sends by default; unknown parameters are always refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.openai_schemas import NEUTRAL, ChatCompletionRequest, CompletionRequest, unsupported

COMPLETION: dict[str, Any] = {"model": "m", "prompt": "Hello"}
CHAT: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hello"}]}
BOTH = pytest.mark.parametrize(
    ("schema", "body"),
    [
        pytest.param(CompletionRequest, COMPLETION, id="completions"),
        pytest.param(ChatCompletionRequest, CHAT, id="chat"),
    ],
)


@BOTH
def test_a_plain_valid_body_passes(schema: type[BaseModel], body: dict[str, Any]) -> None:
    full = {
        **body,
        "max_tokens": 5,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["x"],
        "seed": 1,
        "user": "u",
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    assert unsupported(full, schema) is None


@BOTH
def test_an_unknown_parameter_is_refused_by_name(schema: type[BaseModel], body: dict[str, Any]) -> None:
    assert unsupported({**body, "frobnicate": 3}, schema) == (
        "frobnicate",
        "Unrecognized request argument supplied: frobnicate",
    )


@pytest.mark.parametrize(
    ("schema", "body", "other_endpoints"),
    [
        pytest.param(CompletionRequest, COMPLETION, "messages", id="messages-on-completions"),
        pytest.param(CompletionRequest, COMPLETION, "max_completion_tokens", id="max-completion-tokens-on-completions"),
        pytest.param(ChatCompletionRequest, CHAT, "prompt", id="prompt-on-chat"),
    ],
)
def test_the_other_endpoints_parameter_is_unknown_here(
    schema: type[BaseModel], body: dict[str, Any], other_endpoints: str
) -> None:
    refused = unsupported({**body, other_endpoints: "x"}, schema)

    assert refused is not None
    assert refused[0] == other_endpoints


NON_NEUTRAL: list[tuple[str, Any, str]] = [
    ("n", 2, "n=2 is not supported here (only 1)"),
    ("presence_penalty", 0.5, "presence_penalty=0.5 is not supported here (only 0)"),
    ("frequency_penalty", -1, "frequency_penalty=-1 is not supported here (only 0)"),
    ("logprobs", 3, "logprobs=3 is not supported here (only None or False)"),
    ("echo", True, "echo=True is not supported here (only False)"),
    ("best_of", 3, "best_of=3 is not supported here (only 1)"),
    ("suffix", "end", "suffix='end' is not supported here (only None)"),
    ("logit_bias", {"50256": -100}, "logit_bias={'50256': -100} is not supported here (only None)"),
    ("top_logprobs", 2, "top_logprobs=2 is not supported here (only None)"),
    ("tools", [{"type": "function"}], "tools=[{'type': 'function'}] is not supported here (only None)"),
    ("tool_choice", "auto", "tool_choice='auto' is not supported here (only None)"),
    (
        "response_format",
        {"type": "json_object"},
        "response_format={'type': 'json_object'} is not supported here (only None)",
    ),
    ("parallel_tool_calls", True, "parallel_tool_calls=True is not supported here (only None)"),
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
@pytest.mark.parametrize(
    ("name", "neutral"),
    [*((name, value) for name, values in NEUTRAL.items() for value in values), ("presence_penalty", 0.0)],
)
def test_an_unsupported_parameter_is_accepted_at_its_neutral_value(
    schema: type[BaseModel], body: dict[str, Any], name: str, neutral: Any
) -> None:
    assert unsupported({**body, name: neutral}, schema) is None


@BOTH
def test_the_first_offending_parameter_is_named(schema: type[BaseModel], body: dict[str, Any]) -> None:
    refused = unsupported({**body, "n": 1, "best_of": 2, "frobnicate": 1}, schema)

    assert refused is not None
    assert refused[0] == "best_of"


def test_chat_accepts_logprobs_false_and_completions_refuses_logprobs_zero() -> None:
    # chat's logprobs is a boolean whose default is false; completions' is a count, and 0 is not "none"
    assert unsupported({**CHAT, "logprobs": False}, ChatCompletionRequest) is None
    assert unsupported({**COMPLETION, "logprobs": 0}, CompletionRequest) is not None
