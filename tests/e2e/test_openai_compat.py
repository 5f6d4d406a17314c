"""The OpenAI-compatible API through the official `openai` package, pointed at the running service."""

from __future__ import annotations

import json

import openai
import pytest
import redis
import requests

from contract import model_registry

from ..support.stack import API_KEY, OTHER_KEY, Api, RedisServer, Started, submit, wait_for_final

MODEL = "tiny"


@pytest.fixture(scope="module")
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert MODEL in [model.id for model in client.models.list()]


def test_one_model_is_retrieved_by_id_slashes_included(client: openai.OpenAI, redis_client: redis.Redis) -> None:
    # Given the served model, and one the operator registered under an id with a slash
    model_registry.publish(redis_client, model_registry.RegisteredModel(name="org/some-model", resource="ns/some"))
    try:
        # Then each is retrieved by its id, as vLLM serves them; an unknown id is the library's NotFoundError
        assert client.models.retrieve(MODEL).id == MODEL
        assert client.models.retrieve("org/some-model").id == "org/some-model"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("no-such/model")
    finally:
        model_registry.withdraw(redis_client, "org/some-model", "ns/some")


def test_a_completion_has_openai_shape_and_usage_that_matches(client: openai.OpenAI) -> None:
    prompt = "The capital of France is"
    done = client.completions.create(model=MODEL, prompt=prompt, max_tokens=12, temperature=0)
    assert done.object == "text_completion" and done.id.startswith("cmpl-")
    assert done.choices[0].finish_reason == "length" and done.choices[0].text
    assert done.usage.prompt_tokens == len(prompt.encode())  # the tiny model's tokenizer: one token a byte
    assert done.usage.completion_tokens == 12
    assert done.usage.total_tokens == done.usage.prompt_tokens + 12


def test_generate_and_v1_completions_give_the_same_greedy_text(client: openai.OpenAI, api: Api) -> None:
    prompt = "same text both ways"
    task_id = submit(api, prompt=prompt, max_tokens=20, temperature=0)
    expected = wait_for_final(api, task_id)["result"]
    assert (
        client.completions.create(model=MODEL, prompt=prompt, max_tokens=20, temperature=0).choices[0].text == expected
    )


def test_a_chat_completion_streamed_and_not_agree(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]
    whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=16, temperature=0)
    assert whole.object == "chat.completion" and whole.choices[0].message.role == "assistant"
    # No chat template in the tiny model: the plain one, "role: content" lines then "assistant:"
    assert whole.usage.prompt_tokens == len(b"system: Be brief.\nuser: Hello!\nassistant:")
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=messages,
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16


def test_a_streamed_completion_ends_with_done(api: Api) -> None:
    body = {"model": MODEL, "prompt": "stream", "max_tokens": 5, "temperature": 0, "stream": True}
    with requests.post(
        api.url("/v1/completions"), headers={"Authorization": f"Bearer {API_KEY}"}, json=body, stream=True, timeout=60
    ) as response:
        lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2][len("data: ") :])
    assert last["choices"][0]["finish_reason"] == "length"


def test_stop_sequences_are_honoured(client: openai.OpenAI) -> None:
    free = client.completions.create(model=MODEL, prompt="stop here", max_tokens=30, temperature=0).choices[0].text
    stop = next(free[index : index + 2] for index in range(4, len(free) - 2) if "\ufffd" not in free[index : index + 2])
    cut = client.completions.create(model=MODEL, prompt="stop here", max_tokens=30, temperature=0, stop=[stop])
    assert cut.choices[0].text == free[: free.index(stop)] and cut.choices[0].finish_reason == "stop"
    streamed = client.completions.create(
        model=MODEL, prompt="stop here", max_tokens=30, temperature=0, stop=stop, stream=True
    )
    assert "".join(chunk.choices[0].text for chunk in streamed) == free[: free.index(stop)]


def test_a_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        done = client.completions.create(model=MODEL, prompt="roll", max_tokens=24, temperature=1.0, seed=seed)
        return done.choices[0].text

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_errors_are_the_librarys_own_exceptions(client: openai.OpenAI, api: Api) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=api.url("/v1"), api_key="wrong", max_retries=0).models.list()
    mixed = requests.get(
        client.base_url.join("models").__str__(),
        timeout=10,
        headers={"Authorization": f"Bearer {OTHER_KEY}", "X-API-Key": API_KEY},
    )
    assert mixed.status_code == 401  # two different keys in one request: neither is taken
    with pytest.raises(openai.NotFoundError) as missing:
        client.completions.create(model="no-such-model", prompt="x", max_tokens=1)
    assert missing.value.body["param"] == "model"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as several:
        client.completions.create(model=MODEL, prompt="x", max_tokens=1, n=65)
    assert several.value.body["param"] == "n"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as too_many:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10**6)
    assert too_many.value.body["param"] == "max_tokens"  # type: ignore[index]


def test_rate_limit_is_the_librarys_rate_limit_error(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    limited = started.api(
        redis_server.url(), api_keys=OTHER_KEY, rate_limit_per_minute=1, rate_limit_burst=1, **model_settings
    )
    client = openai.OpenAI(base_url=limited.url("/v1"), api_key=OTHER_KEY, max_retries=0, timeout=60)
    client.completions.create(model=MODEL, prompt="one", max_tokens=1)
    with pytest.raises(openai.RateLimitError):
        client.completions.create(model=MODEL, prompt="two", max_tokens=1)


def test_a_client_that_disconnects_cancels_its_task(api: Api) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "long"}], "max_tokens": 1000, "stream": True}
    response = requests.post(
        api.url("/v1/chat/completions"),
        headers={"Authorization": f"Bearer {API_KEY}"},
        json=body,
        stream=True,
        timeout=60,
    )
    first = next(line for line in response.iter_lines(decode_unicode=True) if line)
    task_id = json.loads(first[len("data: ") :])["id"].removeprefix("chatcmpl-")
    response.close()  # gone before the end
    final = wait_for_final(api, task_id, timeout=60)
    assert final["status"] == "error" and final["error_type"] == "Cancelled"
