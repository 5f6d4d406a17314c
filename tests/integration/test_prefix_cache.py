"""The batch engine's prefix cache through the transformers backend: a shared prompt computed once, and the
output exactly what it is without the cache."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract.task_params import TaskParams
from workers.backends import GenerationRequest, GenerationResult
from workers.backends.transformers import TransformersBackend
from workers.engine.prefix_cache import BLOCK_TOKENS
from workers.model_builder import SHAPES, build

SYSTEM = "You are a careful assistant. " * 12  # well over a few blocks in the tiny tokenizer


def backend_of(folder: Path, prefix_cache_bytes: int) -> TransformersBackend:
    loaded = TransformersBackend(
        str(folder), "tiny", max_batch_size=8, engine="batch", prefix_cache_bytes=prefix_cache_bytes
    )
    loaded.load()
    return loaded


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def pair(
    request: pytest.FixtureRequest, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TransformersBackend, TransformersBackend]]:
    """The same model without and with the cache: GPT-2 (absolute positions) and Llama (rotary)."""
    folder = (
        tiny_model if request.param == "gpt2" else build(tmp_path_factory.mktemp("llama"), shape=SHAPES["tiny-llama"])
    )
    plain, cached = backend_of(folder, 0), backend_of(folder, 64 << 20)
    yield plain, cached
    for loaded in (plain, cached):
        assert loaded.engine is not None
        loaded.engine.stop()


def ask(prompt: str, max_tokens: int = 24, **options: object) -> GenerationRequest:
    params = TaskParams.model_validate(
        {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, **options}
    )
    return GenerationRequest("tiny", params, time.monotonic() + 60)


def together(backend: TransformersBackend, requests: list[GenerationRequest]) -> list[GenerationResult]:
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(backend.generate, requests))


def test_greedy_output_is_identical_with_and_without_the_cache_in_mixed_batches(
    pair: tuple[TransformersBackend, TransformersBackend],
) -> None:
    plain, cached = pair
    # Given a first request that leaves the shared system prompt in the cache
    first = cached.generate(ask(SYSTEM + "Question zero?"))
    assert first.cached_tokens == 0
    # When a mixed batch runs: the same prefix with other turns, an unrelated prompt, a short one, one that
    # asks for prompt logprobs (it needs every position, so it takes nothing from the cache) and a seeded draw
    requests = [
        ask(SYSTEM + "Question one?"),
        ask(SYSTEM + "A much longer question two, with more words in it than the others?", 30),
        ask("Something else entirely, unrelated to the system prompt", 20),
        ask("hi", 10),
        ask(SYSTEM + "Question three?", 12, prompt_logprobs=1),
        ask(SYSTEM + "Question four?", 16, temperature=0.9, seed=7),
    ]
    without, with_cache = together(plain, requests), together(cached, requests)
    # Then every text is the same, the shared ones started after the cached blocks, the others computed all
    assert [r.text for r in with_cache] == [r.text for r in without]
    assert [r.completion_tokens for r in with_cache] == [r.completion_tokens for r in without]
    for result in (with_cache[0], with_cache[1], with_cache[5]):
        assert result.cached_tokens >= 4 * BLOCK_TOKENS and result.cached_tokens % BLOCK_TOKENS == 0
        assert result.cached_tokens < result.prompt_tokens
    assert [r.cached_tokens for r in with_cache[2:5]] == [0, 0, 0]
    cached_entries, plain_entries = with_cache[4].prompt_logprobs or [], without[4].prompt_logprobs or []
    assert [e["id"] for e in cached_entries] == [e["id"] for e in plain_entries] and cached_entries
    # (equal up to float noise: the batches around it are padded differently)
    assert all(
        a["logprob"] == pytest.approx(b["logprob"], abs=1e-4)
        for a, b in zip(cached_entries, plain_entries, strict=True)
    )
    assert all(r.cached_tokens == 0 for r in without)


def test_choices_that_share_a_prompt_prefill_it_once(pair: tuple[TransformersBackend, TransformersBackend]) -> None:
    plain, cached = pair
    prompt = "Four choices of one brand-new prompt, " * 6  # not cached yet
    results = together(cached, [ask(prompt, seed=index, temperature=0.8) for index in range(4)])
    # One computed the prompt; the other three took all but its last block from the cache
    assert sorted(r.cached_tokens > 0 for r in results) == [False, True, True, True]
    assert [r.text for r in results] == [
        r.text for r in together(plain, [ask(prompt, seed=i, temperature=0.8) for i in range(4)])
    ]
