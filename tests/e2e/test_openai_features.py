"""vLLM's sampling options, several choices and prompts, logprobs, penalties, JSON output and tool calls,
each through the official openai client against the running service, and each checked against what the same
tiny model computes in this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
import requests
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..support.stack import API_KEY, Api, submit, wait_for_final

MODEL = "tiny"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}, "celsius": {"type": "boolean"}},
            "required": ["city", "celsius"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}


@pytest.fixture(scope="module")
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=120)


class Reference:
    """The same model and tokenizer the worker loads, run here step by step without any cache."""

    def __init__(self, path: Path) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text)["input_ids"])

    def log_softmax(self, ids: list[int]) -> torch.Tensor:
        """(len(ids), vocab): the log-probabilities of each position's next token."""
        with torch.inference_mode():
            return torch.log_softmax(self.model(torch.tensor([ids])).logits[0].float(), dim=-1)

    def greedy(self, ids: list[int], steps: int, adjust: Any = None) -> list[int]:
        out: list[int] = []
        for _ in range(steps):
            logits = self.log_softmax(ids + out)[-1].clone()
            if adjust is not None:
                logits = adjust(logits, out)
            out.append(int(logits.argmax()))
        return out

    def token(self, char: str) -> int:
        (token,) = self.ids(char)
        return token


@pytest.fixture(scope="module")
def reference(tiny_model: Path) -> Reference:
    return Reference(tiny_model)


def test_logit_bias_min_tokens_ignore_eos_and_stop_token_ids_are_honoured(
    client: openai.OpenAI, reference: Reference
) -> None:
    x, eos = reference.token("x"), reference.tokenizer.eos_token_id
    forced_x = {str(x): 100}
    done = client.completions.create(model=MODEL, prompt="a", max_tokens=6, temperature=0, logit_bias=forced_x)
    assert done.choices[0].text == "xxxxxx"

    # End of sequence made certain: it still cannot come before min_tokens, and never with ignore_eos
    forced_eos = {"logit_bias": {str(eos): 100}}
    early = client.completions.create(model=MODEL, prompt="a", max_tokens=10, temperature=0, extra_body=forced_eos)
    assert early.choices[0].finish_reason == "stop" and early.usage.completion_tokens == 1
    least = {**forced_eos, "min_tokens": 4}
    held = client.completions.create(model=MODEL, prompt="a", max_tokens=10, temperature=0, extra_body=least)
    assert held.choices[0].finish_reason == "stop" and held.usage.completion_tokens == 5  # 4, then end of sequence
    ignored = {**forced_eos, "ignore_eos": True}
    full = client.completions.create(model=MODEL, prompt="a", max_tokens=7, temperature=0, extra_body=ignored)
    assert full.choices[0].finish_reason == "length" and full.usage.completion_tokens == 7

    stop_id = {"stop_token_ids": [x]}
    stopped = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=8,
        temperature=0,
        logit_bias=forced_x,
        extra_body=stop_id,
    )
    assert stopped.choices[0].finish_reason == "stop" and stopped.choices[0].message.content == ""


def test_include_stop_str_in_output_keeps_the_stop_string(client: openai.OpenAI, reference: Reference) -> None:
    bias = {str(reference.token("x")): 100}
    body = {"prompt": "a", "max_tokens": 8, "temperature": 0, "logit_bias": bias, "stop": ["xx"]}
    assert client.completions.create(model=MODEL, **body).choices[0].text == ""
    kept = client.completions.create(model=MODEL, **body, extra_body={"include_stop_str_in_output": True})
    assert kept.choices[0].text == "xx" and kept.choices[0].finish_reason == "stop"


def test_top_k_1_and_min_p_1_sample_what_greedy_picks(client: openai.OpenAI) -> None:
    greedy = client.completions.create(model=MODEL, prompt="Once", max_tokens=10, temperature=0).choices[0].text
    for option in ({"top_k": 1}, {"min_p": 1.0}):
        sampled = client.completions.create(
            model=MODEL, prompt="Once", max_tokens=10, temperature=1.5, extra_body=option
        )
        assert sampled.choices[0].text == greedy, option


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_n_choices_each_with_its_index(client: openai.OpenAI, stream: bool) -> None:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "temperature": 1.0, "seed": 3, "n": 3}
    chat = {"messages": [{"role": "user", "content": "Tell me"}]}
    if stream:
        texts = {0: "", 1: "", 2: ""}
        finishes = {}
        for chunk in client.chat.completions.create(**body, **chat, stream=True):
            for choice in chunk.choices:
                texts[choice.index] += choice.delta.content or ""
                if choice.finish_reason:
                    finishes[choice.index] = choice.finish_reason
        assert set(finishes) == {0, 1, 2}
    else:
        done = client.chat.completions.create(**body, **chat)
        texts = {choice.index: choice.message.content or "" for choice in done.choices}
        assert done.usage.completion_tokens == 30  # 3 × max_tokens (no end of sequence this early, seeded)
    assert sorted(texts) == [0, 1, 2]
    assert len(set(texts.values())) == 3  # each choice samples with its own seed
    again = client.chat.completions.create(**body, **chat)
    assert {c.index: c.message.content for c in again.choices} == texts  # and the same seed repeats them


def test_best_of_other_than_n_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL, prompt="a", max_tokens=2, n=2, best_of=3)
    assert refused.value.body["param"] == "best_of"  # type: ignore[index]


def test_several_prompts_as_text_and_as_token_ids(client: openai.OpenAI, reference: Reference) -> None:
    prompts = ["The sky", "A cat"]
    done = client.completions.create(model=MODEL, prompt=prompts, max_tokens=6, temperature=0, n=2)
    assert [choice.index for choice in done.choices] == [0, 1, 2, 3]
    texts = [choice.text for choice in done.choices]
    assert texts[0] == texts[1] and texts[2] == texts[3]  # greedy: n copies of each prompt's text
    for prompt, text in zip(prompts, texts[::2], strict=True):
        assert text == reference.tokenizer.decode(reference.greedy(reference.ids(prompt), 6))
    assert done.usage.prompt_tokens == sum(len(reference.ids(prompt)) for prompt in prompts)

    as_ids = [reference.ids(prompt) for prompt in prompts]
    by_ids = client.completions.create(model=MODEL, prompt=as_ids, max_tokens=6, temperature=0)
    assert [choice.text for choice in by_ids.choices] == texts[::2]
    single = client.completions.create(model=MODEL, prompt=as_ids[0], max_tokens=6, temperature=0)
    assert single.choices[0].text == texts[0]


def test_chat_logprobs_are_the_models_log_softmax(client: openai.OpenAI, reference: Reference) -> None:
    messages = [{"role": "user", "content": "Hello there"}]
    done = client.chat.completions.create(
        model=MODEL, messages=messages, max_tokens=6, temperature=0, logprobs=True, top_logprobs=5
    )
    prompt = reference.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = list(reference.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    generated = reference.greedy(prompt_ids, 6)
    expected = reference.log_softmax(prompt_ids + generated)[len(prompt_ids) - 1 : -1]
    content = done.choices[0].logprobs.content
    assert len(content) == 6
    for position, (entry, token) in enumerate(zip(content, generated, strict=True)):
        assert entry.logprob == pytest.approx(float(expected[position, token]), abs=1e-4)
        top = expected[position].topk(5)
        assert [alt.logprob for alt in entry.top_logprobs] == pytest.approx(top.values.tolist(), abs=1e-4)
        assert entry.top_logprobs[0].token == entry.token  # greedy: the chosen token is the most likely
        assert bytes(entry.bytes) == entry.token.encode()


def test_completion_logprobs_with_echo_score_the_prompt(client: openai.OpenAI, reference: Reference) -> None:
    prompt = "Paris is"
    done = client.completions.create(model=MODEL, prompt=prompt, max_tokens=3, temperature=0, logprobs=2, echo=True)
    choice = done.choices[0]
    ids = reference.ids(prompt)
    generated = reference.greedy(ids, 3)
    everything = ids + generated
    expected = reference.log_softmax(everything)
    assert choice.text.startswith(prompt)
    assert choice.logprobs.token_logprobs[0] is None  # nothing precedes the first prompt token
    for position in range(1, len(everything)):
        assert choice.logprobs.token_logprobs[position] == pytest.approx(
            float(expected[position - 1, everything[position]]), abs=1e-4
        )
    assert choice.logprobs.text_offset[: len(ids)] == list(range(len(ids)))  # one byte a token
    for position in range(1, len(everything)):  # alternatives keyed by token text, the chosen one among them
        token = choice.logprobs.tokens[position]
        assert choice.logprobs.top_logprobs[position][token] == choice.logprobs.token_logprobs[position]


def test_presence_and_frequency_penalties_change_choices_as_the_reference_does(
    client: openai.OpenAI, reference: Reference
) -> None:
    # The random model seldom repeats a token on its own: a bias towards "a" makes it, so the penalties have
    # something to push against.
    prompt, steps, a = "aaaa", 10, reference.token("a")

    def biased(logits: torch.Tensor, out: list[int]) -> torch.Tensor:
        logits[a] += 4.0
        return logits

    def penalised(logits: torch.Tensor, out: list[int]) -> torch.Tensor:
        logits = biased(logits, out)
        for token in set(out):
            logits[token] -= 1.5 + 0.7 * out.count(token)
        return logits

    expected = reference.tokenizer.decode(reference.greedy(reference.ids(prompt), steps, penalised))
    plain = reference.tokenizer.decode(reference.greedy(reference.ids(prompt), steps, biased))
    assert expected != plain, "choose a bias where the penalties matter"
    body = {"model": MODEL, "prompt": prompt, "max_tokens": steps, "temperature": 0, "logit_bias": {str(a): 4}}
    assert client.completions.create(**body).choices[0].text == plain
    done = client.completions.create(**body, presence_penalty=1.5, frequency_penalty=0.7)
    assert done.choices[0].text == expected


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 10},
        "ok": {"type": "boolean"},
        "size": {"enum": ["small", "large"]},
    },
    "required": ["name", "ok", "size"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_json_schema_output_parses_and_validates(client: openai.OpenAI, seed: int | None) -> None:
    done = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Describe a thing"}],
        max_tokens=80,
        temperature=0 if seed is None else 0.8,
        seed=seed,
        response_format={"type": "json_schema", "json_schema": {"name": "thing", "schema": SCHEMA}},
    )
    assert done.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(done.choices[0].message.content or ""), SCHEMA)


def test_json_object_output_parses(client: openai.OpenAI, reference: Reference) -> None:
    # A bias towards '"' and "}" makes the random model close what it opens (a random model seldom ends a
    # string or an object on its own); without the constraint the same bias gives text that is not JSON.
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "JSON please"}],
        "max_tokens": 40,
        "temperature": 0,
        "logit_bias": {str(reference.token(char)): 8 for char in '"}'},
    }
    free = client.chat.completions.create(**body).choices[0].message.content or ""
    with pytest.raises(ValueError):
        json.loads(free)
    done = client.chat.completions.create(**body, response_format={"type": "json_object"})
    assert done.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(done.choices[0].message.content or ""), dict)


def test_a_schema_the_grammar_cannot_take_is_a_400_naming_response_format(client: openai.OpenAI) -> None:
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
            max_tokens=5,
            response_format=bad,  # type: ignore[arg-type]
        )
    assert refused.value.body["param"] == "response_format"  # type: ignore[index]


def test_token_ids_outside_the_vocabulary_are_a_400_naming_the_field(client: openai.OpenAI) -> None:
    for body, field in (
        ({"logit_bias": {"999999": 5}}, "logit_bias"),
        ({"extra_body": {"stop_token_ids": [999999]}}, "stop_token_ids"),
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.completions.create(model=MODEL, prompt="a", max_tokens=2, **body)  # type: ignore[arg-type]
        assert refused.value.body["param"] == field  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL, prompt=[999999], max_tokens=2)
    assert refused.value.body["param"] == "prompt"  # type: ignore[index]


def test_tools_reach_the_template(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    plain = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=1, temperature=0)
    with_tools = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=1,
        temperature=0,
        tools=[WEATHER],  # type: ignore[list-item]
    )
    # one token a byte: the template wrote the tool's definition into the prompt
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + len("get_weather")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("choice", ["required", "named"])
def test_a_forced_tool_call_is_a_valid_call(client: openai.OpenAI, stream: bool, choice: str) -> None:
    tool_choice: Any = "required" if choice == "required" else {"type": "function", "function": {"name": "get_weather"}}
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "max_tokens": 120,
        "temperature": 0,
        "tools": [WEATHER, TIME],
        "tool_choice": tool_choice,
    }
    if stream:
        calls: dict[int, dict[str, str]] = {}
        finish, carrying = None, 0
        for chunk in client.chat.completions.create(**body, stream=True):
            for part in chunk.choices:
                finish = part.finish_reason or finish
                carrying += bool(part.delta.tool_calls)
                for call in part.delta.tool_calls or []:
                    found = calls.setdefault(call.index, {"name": "", "arguments": ""})
                    found["name"] += call.function.name or ""
                    found["arguments"] += call.function.arguments or ""
        named = list(calls.values())
        if choice == "named":  # get_weather's arguments are long enough to come in several writes
            assert carrying > 2  # the name, then the arguments as they were generated, not whole at the end
    else:
        done = client.chat.completions.create(**body)
        finish = done.choices[0].finish_reason
        named = [
            {"name": c.function.name, "arguments": c.function.arguments}
            for c in done.choices[0].message.tool_calls or []
        ]
    assert finish == "tool_calls" and named
    for call in named:
        assert call["name"] in ("get_weather", "get_time")
        arguments = json.loads(call["arguments"])
        if call["name"] == "get_weather":
            jsonschema.validate(arguments, WEATHER["function"]["parameters"])  # type: ignore[index]
    if choice == "named":
        assert [call["name"] for call in named] == ["get_weather"]


def test_a_conversation_with_tool_results_goes_through(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "12 degrees"},
    ]
    done = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4, tools=[WEATHER])  # type: ignore[list-item]
    assert done.choices[0].finish_reason in ("length", "stop", "tool_calls")


def test_continuous_usage_stats_put_usage_in_every_chunk(client: openai.OpenAI) -> None:
    options = {"stream_options": {"include_usage": True, "continuous_usage_stats": True}}
    chunks = list(
        client.completions.create(
            model=MODEL, prompt="count", max_tokens=12, temperature=0, stream=True, extra_body=options
        )
    )
    assert all(chunk.usage is not None for chunk in chunks)
    text = ""
    for chunk in chunks:
        text += "".join(choice.text for choice in chunk.choices)
        assert chunk.usage is not None
        if text:  # the counts so far cover the text so far (the tiny model: one token a byte)
            assert chunk.usage.prompt_tokens == len("count")
            assert chunk.usage.completion_tokens >= len(text)  # a character takes one token or more
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12


def test_an_unknown_field_is_ignored_and_the_request_served(client: openai.OpenAI) -> None:
    done = client.completions.create(model=MODEL, prompt="a", max_tokens=2, extra_body={"frobnicate": {"x": 1}})
    assert done.choices[0].text is not None


def test_the_openapi_document_describes_the_new_parameters(api: Api) -> None:
    spec = requests.get(api.url("/openapi.json"), timeout=10).json()
    schemas = spec["components"]["schemas"]
    chat, completion = schemas["ChatCompletionRequest"]["properties"], schemas["CompletionRequest"]["properties"]
    vllm = {"top_k", "min_p", "repetition_penalty", "min_tokens", "ignore_eos", "stop_token_ids", "logit_bias"}
    vllm |= {"include_stop_str_in_output", "skip_special_tokens", "n", "best_of", "presence_penalty"}
    assert (
        vllm <= set(chat)
        and vllm <= set(completion)
        and vllm - {"n", "best_of"} <= set(schemas["GenerateRequest"]["properties"])
    )
    assert {"logprobs", "top_logprobs", "response_format", "tools", "tool_choice"} <= set(chat)
    assert {"logprobs", "echo"} <= set(completion)
    assert "continuous_usage_stats" in schemas["StreamOptions"]["properties"]


def test_generate_takes_the_same_vllm_options(api: Api, reference: Reference) -> None:
    x = reference.token("x")
    task_id = submit(api, prompt="a", max_tokens=5, temperature=0, logit_bias={str(x): 100}, min_tokens=2)
    assert wait_for_final(api, task_id)["result"] == "xxxxx"
    refused = wait_for_final(api, submit(api, prompt="a", max_tokens=5, stop_token_ids=[999999]))
    assert refused["error_type"] == "InvalidRequestError" and refused["error_message"].startswith("stop_token_ids:")
    bad = requests.post(
        api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "a", "top_k": -5}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["field"] == "top_k"
