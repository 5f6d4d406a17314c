"""Every vLLM/OpenAI sampling and output option through TransformersBackend on the real tiny model, checked
against in-process references (the model's own logits, penalties computed by hand), and the paged engine's
refusals of what it cannot honour."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import torch

from contract.refusals import RequestRefused
from contract.task_params import TaskParams
from workers.backends import GenerationRequest, GenerationResult
from workers.backends.transformers import TransformersBackend
from workers.engine.paged_engine import refuse_unsupported
from workers.engine.types import EngineRequest, Sampling

from ..support.backends import running_backend

EOS = 256
PROMPT = "hello"


def ask(prompt: str = PROMPT, max_tokens: int = 10, temperature: float = 0.0, **options: Any) -> GenerationRequest:
    text = {"prompt": prompt} if "prompt_ids" not in options and "messages" not in options else {}
    params = TaskParams.model_validate(
        {**text, "max_tokens": max_tokens, "temperature": temperature, "top_p": 1.0, **options}
    )
    return GenerationRequest("tiny", params, time.monotonic() + 60)


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> Iterator[TransformersBackend]:
    yield from running_backend(tiny_model, "batch", max_batch_size=8)


def ids_of(result: GenerationResult) -> list[int]:
    assert result.logprobs is not None
    return [entry["id"] for entry in result.logprobs]


def model_logits(backend: TransformersBackend, ids: list[int]) -> torch.Tensor:
    """(T, V): the logits after each of the ids, in one plain forward pass."""
    with torch.inference_mode():
        return backend.model(torch.tensor([ids])).logits[0].float()


def prompt_of(backend: TransformersBackend, prompt: str = PROMPT) -> list[int]:
    ids: list[int] = backend.tokenizer(prompt)["input_ids"]
    return ids


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_logprobs_are_the_models_raw_logprobs_with_its_top_alternatives(
    backend: TransformersBackend, temperature: float
) -> None:
    result = backend.generate(ask(max_tokens=12, temperature=temperature, seed=5, logprobs=4))
    prompt, generated = prompt_of(backend), ids_of(result)
    assert result.logprobs is not None and len(result.logprobs) == result.completion_tokens == 12
    reference = torch.log_softmax(model_logits(backend, prompt + generated), dim=-1)
    for step, entry in enumerate(result.logprobs):
        expected = reference[len(prompt) + step - 1]
        assert entry["logprob"] == pytest.approx(float(expected[entry["id"]]), abs=1e-4)
        values, ids = expected.topk(4)
        assert [other["id"] for other in entry["top"]] == ids.tolist()
        assert [other["logprob"] for other in entry["top"]] == pytest.approx(values.tolist(), abs=1e-4)
        token = backend.tokenizer.decode([entry["id"]], skip_special_tokens=False)
        assert entry["token"] == token and entry["bytes"] == list(token.encode())
    if temperature == 0.0:  # greedy picks the top alternative
        assert generated == [entry["top"][0]["id"] for entry in result.logprobs]


def test_prompt_logprobs_are_each_prompt_tokens_logprob_given_what_precedes_it(backend: TransformersBackend) -> None:
    # Alone and beside a longer prompt in the same prefill (left padding must not shift positions)
    results = run_together(
        backend,
        [ask("the prompt", max_tokens=2, prompt_logprobs=3), ask("a much longer prompt than that one", 2)],
    )
    result = results[0]
    prompt = prompt_of(backend, "the prompt")
    assert result.prompt_logprobs is not None and len(result.prompt_logprobs) == len(prompt)
    assert result.prompt_logprobs[0] == {"id": prompt[0], "token": "t", "bytes": [116], "logprob": None, "top": []}
    reference = torch.log_softmax(model_logits(backend, prompt), dim=-1)
    for position in range(1, len(prompt)):
        entry = result.prompt_logprobs[position]
        assert entry["id"] == prompt[position]
        assert entry["logprob"] == pytest.approx(float(reference[position - 1, prompt[position]]), abs=1e-4)
        assert [other["id"] for other in entry["top"]] == reference[position - 1].topk(3).indices.tolist()
    assert result.logprobs is None  # not asked for


def token_id(backend: TransformersBackend, text: str) -> int:
    (token,) = backend.tokenizer(text)["input_ids"]
    return int(token)


def test_a_large_logit_bias_makes_greedy_output_that_token(backend: TransformersBackend) -> None:
    result = backend.generate(ask(max_tokens=6, logit_bias={token_id(backend, "Q"): 100.0}))
    assert result.text == "Q" * 6


def reference_penalised_greedy(
    backend: TransformersBackend,
    prompt: list[int],
    steps: int,
    bias: dict[int, float],
    repetition: float,
    presence: float,
    frequency: float,
) -> list[int]:
    output: list[int] = []
    for _ in range(steps):
        logits = model_logits(backend, prompt + output)[-1].tolist()
        for token in range(len(logits)):
            logits[token] += bias.get(token, 0.0)
            if token in prompt or token in output:
                logits[token] = logits[token] / repetition if logits[token] > 0 else logits[token] * repetition
            count = output.count(token)
            logits[token] -= frequency * count + presence * (count > 0)
        output.append(max(range(len(logits)), key=logits.__getitem__))
    return output


@pytest.mark.parametrize(
    ("repetition", "presence", "frequency"), [(3.0, 0.0, 0.0), (1.0, 2.0, 0.0), (1.0, 0.0, 2.0), (1.5, 1.0, 0.5)]
)
def test_penalties_choose_what_the_reference_predicts(
    backend: TransformersBackend, repetition: float, presence: float, frequency: float
) -> None:
    # A bias that makes plain greedy repeat a prompt token ("l" of "hello") over and over
    bias = {token_id(backend, "l"): 1.5}
    options = {"repetition_penalty": repetition, "presence_penalty": presence, "frequency_penalty": frequency}
    result = backend.generate(ask(max_tokens=8, logprobs=0, logit_bias=bias, **options))
    assert backend.generate(ask(max_tokens=8, logit_bias=bias)).text == "l" * 8
    expected = reference_penalised_greedy(backend, prompt_of(backend), 8, bias, repetition, presence, frequency)
    assert ids_of(result) == expected
    assert ids_of(result).count(token_id(backend, "l")) <= 1


def test_min_tokens_holds_off_a_forced_end_of_sequence(backend: TransformersBackend) -> None:
    result = backend.generate(ask(max_tokens=10, min_tokens=4, logprobs=0, logit_bias={EOS: 100.0}))
    generated = ids_of(result)
    assert EOS not in generated[:4] and generated[4] == EOS
    assert (result.completion_tokens, result.finish_reason) == (5, "stop")
    assert result.text == backend.tokenizer.decode(generated[:4])
    # Without min_tokens it ends at once
    assert backend.generate(ask(max_tokens=10, logit_bias={EOS: 100.0})).completion_tokens == 1


def test_ignore_eos_runs_to_max_tokens_through_a_forced_end_of_sequence(backend: TransformersBackend) -> None:
    result = backend.generate(ask(max_tokens=9, ignore_eos=True, logprobs=0, logit_bias={EOS: 100.0}))
    assert EOS not in ids_of(result)
    assert (result.completion_tokens, result.finish_reason) == (9, "length")


def test_a_stop_token_id_ends_generation_and_stays_out_of_the_text_unless_asked(backend: TransformersBackend) -> None:
    greedy = ids_of(backend.generate(ask(max_tokens=10, logprobs=0)))
    position = next(index for index in range(2, 10) if greedy[index] not in greedy[:index])
    stop_id = greedy[position]
    result = backend.generate(ask(max_tokens=10, stop_token_ids=[stop_id]))
    assert (result.finish_reason, result.completion_tokens) == ("stop", position + 1)
    assert result.text == backend.tokenizer.decode(greedy[:position])
    kept = backend.generate(ask(max_tokens=10, stop_token_ids=[stop_id], include_stop_str_in_output=True))
    assert kept.text == backend.tokenizer.decode(greedy[: position + 1])
    # Below min_tokens it is just another token
    held = backend.generate(ask(max_tokens=10, stop_token_ids=[stop_id], min_tokens=position + 2))
    assert held.completion_tokens > position + 1


def test_include_stop_str_in_output_keeps_the_stop_string(backend: TransformersBackend) -> None:
    text = backend.generate(ask("abc", max_tokens=12)).text
    stop = text[4:6]
    index = text.index(stop)
    assert backend.generate(ask("abc", max_tokens=12, stop=[stop])).text == text[:index]
    kept = backend.generate(ask("abc", max_tokens=12, stop=[stop], include_stop_str_in_output=True))
    assert (kept.text, kept.finish_reason) == (text[: index + len(stop)], "stop")


def test_special_tokens_show_when_not_skipped(backend: TransformersBackend) -> None:
    forced = {"max_tokens": 5, "logit_bias": {EOS: 100.0}, "include_stop_str_in_output": True, "prompt": "x"}
    assert backend.generate(ask(**forced)).text == ""
    assert backend.generate(ask(**forced, skip_special_tokens=False)).text == "<|endoftext|>"


def test_top_k_one_and_a_min_p_near_one_sample_the_greedy_text(backend: TransformersBackend) -> None:
    greedy = backend.generate(ask(max_tokens=20)).text
    assert backend.generate(ask(max_tokens=20, temperature=1.5, top_k=1)).text == greedy
    assert backend.generate(ask(max_tokens=20, temperature=1.0, min_p=0.999)).text == greedy
    assert backend.generate(ask(max_tokens=20, temperature=1.5, top_k=50, seed=1)).text != greedy


def test_prompt_ids_are_used_as_given(backend: TransformersBackend) -> None:
    by_text = backend.generate(ask(max_tokens=8))
    by_ids = backend.generate(ask(max_tokens=8, prompt_ids=prompt_of(backend)))
    assert (by_ids.text, by_ids.prompt_tokens) == (by_text.text, by_text.prompt_tokens)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"prompt_ids": [1, 2, 999]}, "prompt"),
        ({"logit_bias": {257: 1.0}}, "logit_bias"),
        ({"stop_token_ids": [-1]}, "stop_token_ids"),
        ({"json_schema": {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}}, "response_format"),
        ({"json_schema": {"type": "no-such-type"}}, "response_format"),
    ],
)
def test_what_the_model_cannot_serve_is_refused_naming_the_field(
    backend: TransformersBackend, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestRefused) as refused:
        backend.generate(ask(**options))
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ")


def test_tools_reach_the_chat_template(backend: TransformersBackend) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    with_tools = ask(messages=messages, tools=[tool]).params
    rendered = backend.render(with_tools)
    assert "<tools>" in rendered and "get_weather" in rendered and rendered.endswith("assistant:")
    assert "get_weather" not in backend.render(ask(messages=messages).params)
    result = backend.generate(ask(messages=messages, tools=[tool]))
    assert result.prompt_tokens == len(backend.tokenizer(rendered, add_special_tokens=False)["input_ids"])


def test_a_chat_with_tool_calls_and_results_renders(backend: TransformersBackend) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    rendered = backend.render(ask(messages=messages).params)
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in rendered
    assert "<tool_response>\nsunny\n</tool_response>" in rendered


def run_together(backend: TransformersBackend, requests: list[GenerationRequest]) -> list[GenerationResult]:
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(backend.generate, requests))


def test_options_on_some_rows_leave_the_others_alone(backend: TransformersBackend) -> None:
    plain = [ask("first", 15), ask("second one", 12)]
    alone = [backend.generate(request).text for request in plain]
    busy = [
        ask("p", 14, repetition_penalty=2.0, presence_penalty=1.0),
        ask("q", 14, temperature=1.0, top_k=3, min_p=0.2, seed=2, logprobs=3),
        ask("r", 14, logit_bias={token_id(backend, "Z"): 100.0}, prompt_logprobs=1),
        ask("s", 40, json_schema={"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"]}),
    ]
    together = run_together(backend, [*plain, *busy])
    assert [result.text for result in together[:2]] == alone
    assert together[4].text == "Z" * 14


def engine_request(seed: int | None = None, **options: Any) -> EngineRequest:
    return EngineRequest([1, 2], 4, time.monotonic() + 60, Sampling(**options), seed=seed)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (engine_request(seed=1), "seed"),
        (engine_request(logprobs=0), "logprobs"),
        (engine_request(prompt_logprobs=2), "echo"),
        (engine_request(logit_bias=((1, 2.0),)), "logit_bias"),
        (engine_request(min_tokens=2), "min_tokens"),
        (engine_request(min_p=0.1), "min_p"),
        (engine_request(repetition_penalty=1.2), "repetition_penalty"),
        (engine_request(presence_penalty=0.5), "presence_penalty"),
        (engine_request(frequency_penalty=0.5), "frequency_penalty"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_paged_engine_refuses_what_it_cannot_honour_naming_itself(request_: EngineRequest, field: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        refuse_unsupported(request_)
    assert refused.value.field == field
    assert "the paged engine (ENGINE=paged" in refused.value.why


def test_the_paged_engine_takes_what_it_honours() -> None:
    refuse_unsupported(
        engine_request(temperature=0.7, top_p=0.8, top_k=5, ignore_eos=True, stop_token_ids=frozenset({3}))
    )


@pytest.fixture(scope="module")
def paged(tiny_model: Path) -> Iterator[TransformersBackend]:
    yield from running_backend(tiny_model, "paged", max_batch_size=4)


def test_the_paged_engine_honours_top_k_and_stop_token_ids_and_refuses_a_seed(
    paged: TransformersBackend, backend: TransformersBackend
) -> None:
    greedy = backend.generate(ask(max_tokens=10, logprobs=0))
    assert paged.generate(ask(max_tokens=10, temperature=1.5, top_k=1)).text == greedy.text
    stop_id = ids_of(greedy)[3]
    on_batch = backend.generate(ask(max_tokens=10, stop_token_ids=[stop_id]))
    on_paged = paged.generate(ask(max_tokens=10, stop_token_ids=[stop_id]))
    assert (on_paged.text, on_paged.finish_reason, on_paged.completion_tokens) == (
        on_batch.text,
        "stop",
        on_batch.completion_tokens,
    )
    with pytest.raises(RequestRefused, match="^seed: the paged engine"):
        paged.generate(ask(temperature=1.0, seed=3))


def test_ollama_gets_the_options_it_has_and_refuses_the_rest() -> None:
    from workers.backends.ollama_backend import options_of
    from workers.backends.ollama_backend import refuse_unsupported as ollama_refuses

    plain = ask(max_tokens=5, temperature=0.3).params
    assert options_of(plain) == {"temperature": 0.3, "top_p": 1.0, "num_predict": 5}  # as before these options
    rich = ask(
        max_tokens=5, top_k=7, min_p=0.1, repetition_penalty=1.2, presence_penalty=0.5, frequency_penalty=0.25, seed=4
    ).params
    assert options_of(rich) == {
        "temperature": 0.0,
        "top_p": 1.0,
        "num_predict": 5,
        "seed": 4,
        "top_k": 7,
        "min_p": 0.1,
        "repeat_penalty": 1.2,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
    }
    ollama_refuses(rich)
    for options, field in [
        ({"logprobs": 1}, "logprobs"),
        ({"logit_bias": {1: 1.0}}, "logit_bias"),
        ({"prompt_ids": [1, 2]}, "prompt"),
        ({"min_tokens": 2}, "min_tokens"),
        ({"stop_token_ids": [3]}, "stop_token_ids"),
    ]:
        with pytest.raises(RequestRefused, match=f"^{field}: the Ollama backend"):
            ollama_refuses(ask(**options).params)
