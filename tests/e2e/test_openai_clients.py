"""Widely used OpenAI clients, unchanged, against the /v1 routes: LangChain's ChatOpenAI and OpenAI, and
litellm, each through invoke, stream, batch, tools and n. Nothing here leaves the machine: litellm is told
to use its bundled model list instead of fetching one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from ..support.stack import API_KEY, Api

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is imported: no download at import

MODEL = "tiny"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def base_url(api: Api) -> str:
    return api.url("/v1")


def _chat(base_url: str, **options: Any) -> Any:
    from langchain_openai import ChatOpenAI

    settings = {"max_tokens": 8, "temperature": 0, **options}
    return ChatOpenAI(model=MODEL, base_url=base_url, api_key=API_KEY, max_retries=0, **settings)


@pytest.fixture
def chat(base_url: str) -> Any:
    return _chat(base_url)


def test_langchain_chat_invoke_stream_and_batch(chat: Any) -> None:
    answer = chat.invoke("Hello")
    assert answer.response_metadata["finish_reason"] in ("length", "stop")
    streamed = "".join(str(chunk.content) for chunk in chat.stream("Hello"))
    assert streamed == answer.content  # greedy: the same text both ways
    batch = chat.batch(["Hello", "Bonjour", "Hallo"])
    assert len(batch) == 3 and batch[0].content == answer.content


def test_langchain_chat_with_n_returns_n_generations(base_url: str) -> None:
    from langchain_core.messages import HumanMessage

    result = _chat(base_url, n=3, seed=1, temperature=1.0).generate([[HumanMessage("Hi")]])
    texts = [generation.text for generation in result.generations[0]]
    assert len(texts) == 3 and len(set(texts)) == 3


def test_langchain_bind_tools_gets_a_tool_call(base_url: str) -> None:
    chat = _chat(base_url, max_tokens=80)
    answer = chat.bind_tools([WEATHER], tool_choice="get_weather").invoke("What is the weather in Oslo?")
    assert [call["name"] for call in answer.tool_calls] == ["get_weather"]
    assert isinstance(answer.tool_calls[0]["args"]["city"], str)
    anything = chat.bind_tools([WEATHER], tool_choice="any", parallel_tool_calls=False).invoke(
        "Weather?"
    )  # LangChain's "any" is "required"
    assert anything.tool_calls and anything.tool_calls[0]["name"] == "get_weather"


def test_langchain_structured_output_in_json_schema_mode(base_url: str) -> None:
    model = _chat(base_url, max_tokens=80)
    schema = {
        "title": "City",
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 8}},
        "required": ["city"],
        "additionalProperties": False,
    }
    found = model.with_structured_output(schema, method="json_schema").invoke("A city")
    assert isinstance(found["city"], str)


def test_langchain_completions_invoke_stream_and_a_batch_of_four(base_url: str) -> None:
    from langchain_openai import OpenAI

    llm = OpenAI(model=MODEL, base_url=base_url, api_key=API_KEY, max_tokens=6, temperature=0, max_retries=0)
    text = llm.invoke("Once upon")
    assert text and "".join(llm.stream("Once upon")) == text
    batch = llm.batch(["Once upon", "a", "b", "c"])  # one request with a list of four prompts
    assert len(batch) == 4 and batch[0] == text


@pytest.fixture(scope="module")
def litellm_module() -> Iterator[Any]:
    import litellm

    yield litellm


def _litellm(litellm: Any, base_url: str, **body: Any) -> Any:
    return litellm.completion(
        model=f"openai/{MODEL}", api_base=base_url, api_key=API_KEY, max_tokens=body.pop("max_tokens", 8), **body
    )


def test_litellm_completion_stream_and_n(litellm_module: Any, base_url: str) -> None:
    messages = [{"role": "user", "content": "Hello"}]
    answer = _litellm(litellm_module, base_url, messages=messages, temperature=0)
    assert answer.choices[0].message.content is not None
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in _litellm(litellm_module, base_url, messages=messages, temperature=0, stream=True)
    )
    assert streamed == answer.choices[0].message.content
    several = _litellm(litellm_module, base_url, messages=messages, n=2, seed=4)
    assert [choice.index for choice in several.choices] == [0, 1]
    batch = litellm_module.batch_completion(
        model=f"openai/{MODEL}",
        api_base=base_url,
        api_key=API_KEY,
        messages=[messages, [{"role": "user", "content": "Bonjour"}]],
        max_tokens=8,
        temperature=0,
    )
    assert len(batch) == 2 and batch[0].choices[0].message.content == answer.choices[0].message.content


def test_litellm_tools_and_response_format(litellm_module: Any, base_url: str, tiny_model: Path) -> None:
    # a bias towards '"' and "}" makes the random model close the strings and the object it opens (it seldom
    # does on its own)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    closing = {str(tokenizer(char)["input_ids"][0]): 8 for char in '"}'}
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    called = _litellm(
        litellm_module,
        base_url,
        messages=messages,
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=80,
    )
    call = called.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and "city" in json.loads(call.function.arguments)
    auto = _litellm(litellm_module, base_url, messages=messages, tools=[WEATHER])
    assert auto.choices[0].finish_reason in ("length", "stop", "tool_calls")
    formatted = _litellm(
        litellm_module,
        base_url,
        messages=messages,
        response_format={"type": "json_object"},
        logit_bias=closing,
        max_tokens=100,
        temperature=0,
    )
    assert isinstance(json.loads(formatted.choices[0].message.content), dict)


def test_streamed_logprobs_come_in_every_chunk_and_parse_in_each_client(
    litellm_module: Any, base_url: str, api: Api
) -> None:
    import openai

    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 12, "temperature": 0}
    client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
    whole = client.chat.completions.create(model=MODEL, logprobs=True, top_logprobs=2, **body)
    expected = [(entry.token, round(entry.logprob, 4)) for entry in whole.choices[0].logprobs.content]  # type: ignore[union-attr]
    chunks = list(client.chat.completions.create(model=MODEL, logprobs=True, top_logprobs=2, stream=True, **body))
    carrying = [chunk.choices[0].logprobs.content for chunk in chunks if chunk.choices and chunk.choices[0].logprobs]
    assert len(carrying) > 1  # not all in the last chunk
    assert [(entry.token, round(entry.logprob, 4)) for part in carrying for entry in part or []] == expected
    # LangChain reads them from each chunk it streams; litellm passes them through
    streamed = list(_chat(base_url, max_tokens=12, logprobs=True).stream("Hello"))
    read = [
        entry["token"] for chunk in streamed for entry in chunk.response_metadata.get("logprobs", {}).get("content", [])
    ]
    assert read and "".join(read) == "".join(str(chunk.content) for chunk in streamed)
    passed = _litellm(litellm_module, base_url, logprobs=True, stream=True, **body)
    assert sum(1 for chunk in passed if chunk.choices and getattr(chunk.choices[0], "logprobs", None)) > 1


def test_streamed_tool_call_arguments_are_joined_by_langchain_and_litellm(litellm_module: Any, base_url: str) -> None:
    # LangChain joins the streamed pieces of a call into one tool call
    chunks = list(
        _chat(base_url, max_tokens=80).bind_tools([WEATHER], tool_choice="get_weather").stream("Weather in Oslo?")
    )
    assert sum(1 for chunk in chunks if chunk.tool_call_chunks) > 2  # the name, then the arguments as they came
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined += chunk
    assert [call["name"] for call in joined.tool_calls] == ["get_weather"]
    assert isinstance(joined.tool_calls[0]["args"]["city"], str)
    # litellm passes the pieces through; joined, they are the arguments' JSON
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    pieces = [
        call
        for chunk in _litellm(
            litellm_module,
            base_url,
            messages=messages,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=80,
            temperature=0,
            stream=True,
        )
        for call in (chunk.choices[0].delta.tool_calls or [] if chunk.choices else [])
    ]
    assert len(pieces) > 2 and pieces[0].function.name == "get_weather"
    assert "city" in json.loads("".join(piece.function.arguments or "" for piece in pieces))
