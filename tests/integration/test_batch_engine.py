"""The batching engine through the transformers backend: many requests at once, each exactly as if alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract.task_params import TaskParams
from workers.backends import GenerationRequest, GenerationResult
from workers.backends.base import ContextLengthError
from workers.backends.transformers import TransformersBackend
from workers.model_builder import SHAPES, build


@pytest.fixture(scope="module", params=["gpt2-batch", "llama-batch", "gpt2-paged", "llama-paged"])
def backend(
    request: pytest.FixtureRequest, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TransformersBackend]:
    """The same tests over both engines and both cache layouts: GPT-2 (absolute positions) and Llama
    (rotary, grouped-query)."""
    shape, engine = request.param.split("-")
    folder = tiny_model if shape == "gpt2" else build(tmp_path_factory.mktemp("llama"), shape=SHAPES["tiny-llama"])
    loaded = TransformersBackend(str(folder), "tiny", max_batch_size=8, engine=engine)
    loaded.load()
    yield loaded
    loaded.engine.stop()


def ask(prompt: str, max_tokens: int, temperature: float = 0.0, seconds: float = 60) -> GenerationRequest:
    params = TaskParams(prompt=prompt, max_tokens=max_tokens, temperature=temperature, top_p=0.9)
    return GenerationRequest("tiny", params, time.monotonic() + seconds)


def run_together(backend: TransformersBackend, requests: list[GenerationRequest]) -> list[GenerationResult | Exception]:
    def one(request: GenerationRequest) -> GenerationResult | Exception:
        try:
            return backend.generate(request)
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def test_greedy_output_is_the_same_alone_and_inside_a_busy_mixed_batch(backend: TransformersBackend) -> None:
    # Given greedy requests of different lengths, each generated alone first
    greedy = [ask("a", 40), ask("a much longer prompt than the first one", 25), ask("mid-length", 60)]
    alone = [backend.generate(request) for request in greedy]
    # When they run again together with sampled requests (more than the batch holds), one of them timing out
    sampled = [ask(f"sampled {index}", 30 + index, temperature=0.7 + index / 10) for index in range(6)]
    late = ask("too slow", 900, seconds=0.2)
    together = run_together(backend, [*greedy, *sampled, late])
    # Then the greedy texts are identical, every count is right, and only the late one failed
    for before, after, request in zip(alone, together[:3], greedy, strict=True):
        assert isinstance(after, GenerationResult)
        assert after.text == before.text
        assert after.completion_tokens == request.params.max_tokens == before.completion_tokens
        assert after.finish_reason == "length"
    for result, request in zip(together[3:9], sampled, strict=True):
        assert isinstance(result, GenerationResult) and 1 <= result.completion_tokens <= request.params.max_tokens
        # "length" only at max_tokens; "stop" (EOS) anywhere, even as the last allowed token
        assert result.finish_reason == "stop" or result.completion_tokens == request.params.max_tokens
    assert isinstance(together[9], TimeoutError)
    assert backend.engine is not None
    assert wait_for(lambda: backend.engine is not None and backend.engine.running == 0)  # every row left


def test_deltas_join_to_the_result_in_a_batch(backend: TransformersBackend) -> None:
    pieces: dict[int, list[str]] = {index: [] for index in range(4)}

    def one(index: int) -> GenerationResult:
        return backend.generate(ask(f"stream {index}", 50, temperature=1.0), on_text=pieces[index].append)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    for index, result in enumerate(results):
        assert "".join(pieces[index]) == result.text


def test_a_cancelled_request_leaves_the_batch_at_once(backend: TransformersBackend) -> None:
    # A request whose deadline passes is dropped by the engine at the next token, freeing its row
    with pytest.raises(TimeoutError):
        backend.generate(ask("cancel me", 1000, seconds=0.1))
    assert wait_for(lambda: backend.engine is not None and backend.engine.running == 0)


def test_prompt_plus_max_tokens_beyond_the_context_fails_before_generating(backend: TransformersBackend) -> None:
    with pytest.raises(ContextLengthError, match="1000 tokens.*max_tokens \\(100\\).*1024"):
        backend.generate(ask("x" * 1000, 100))
    assert backend.generate(ask("x" * 1000, 24)).completion_tokens == 24  # exactly fits


def wait_for(condition: object, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_auto_picks_the_batch_engine_on_cpu_and_the_paged_one_gets_its_memory_share(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    from workers.engine.batch_engine import BatchEngine
    from workers.engine.factory import create_engine
    from workers.engine.paged_engine import PagedEngine

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert isinstance(create_engine("auto", model, {0}, 4, 0.8), BatchEngine)  # no CUDA here
    paged = create_engine("paged", model, {0}, 4, 0.35)
    assert isinstance(paged, PagedEngine)
    assert paged.manager.continuous_batching_config.max_memory_percent == 0.35  # KV_CACHE_MEMORY_FRACTION
    assert paged.manager.continuous_batching_config.max_requests_per_batch == 4  # MAX_BATCH_SIZE
    # PREFIX_CACHE_BYTES: transformers' block sharing on, unless the setting is 0; our engine's cache its size
    assert paged.manager.continuous_batching_config.allow_block_sharing
    assert not create_engine("paged", model, {0}, 4, 0.35, 0).manager.continuous_batching_config.allow_block_sharing
    batch = create_engine("batch", model, {0}, 4, 0.8, 1 << 20)
    assert isinstance(batch, BatchEngine) and batch.prefixes is not None and batch.prefixes.max_bytes == 1 << 20
    assert create_engine("batch", model, {0}, 4, 0.8, 0).prefixes is None  # type: ignore[attr-defined]
