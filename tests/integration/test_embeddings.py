"""Embeddings from the production loading code: the tiny GPT-2 (a generation model, last-token pooling) and
a tiny BERT built here (an embedding model: mean pooling from its sentence-transformers config, Matryoshka
dimensions)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch

from contract import embeddings
from contract.refusals import RequestRefused
from contract.task_params import TaskParams
from workers.backends import GenerationRequest
from workers.backends.transformers import TransformersBackend
from workers.engine.pooling import PoolingEngine, _pooled
from workers.model_builder import MATRYOSHKA_DIMENSIONS, SHAPES, build


def embedding(text: str | list[int], dimensions: int | None = None) -> GenerationRequest:
    given = {"prompt": text} if isinstance(text, str) else {"prompt_ids": text}
    params = TaskParams.model_validate(
        {"max_tokens": 0, "temperature": 0.0, "top_p": 1.0, "embedding": True, "dimensions": dimensions, **given}
    )
    return GenerationRequest("tiny", params, time.monotonic() + 60)


@pytest.fixture(scope="module")
def generator(tiny_model: Path) -> TransformersBackend:
    loaded = TransformersBackend(str(tiny_model), max_batch_size=4)
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    folder = build(tmp_path_factory.mktemp("model") / "tiny-bert", shape=SHAPES["tiny-bert"])
    loaded = TransformersBackend(str(folder), max_batch_size=4, task="embed")
    loaded.load()
    return loaded


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def test_a_generation_model_embeds_its_prompt_as_a_unit_vector_of_its_hidden_size(
    generator: TransformersBackend,
) -> None:
    found = generator.embed(embedding("hello world"))
    assert len(found.vector) == 128 and found.prompt_tokens == len("hello world")
    assert norm(found.vector) == pytest.approx(1.0, abs=1e-5)
    # the same text and its token ids give the same vector; another text another one
    ids = generator.tokenizer("hello world")["input_ids"]
    assert generator.embed(embedding(ids)).vector == pytest.approx(found.vector, abs=1e-6)
    assert generator.embed(embedding("goodbye")).vector != pytest.approx(found.vector, abs=1e-3)


def test_padding_in_a_shared_pass_changes_no_vector(
    generator: TransformersBackend, encoder: TransformersBackend
) -> None:
    for backend in (generator, encoder):
        assert backend.pooling is not None
        short, longer = [5, 6, 7], [8, 9, 10, 11, 12, 13, 14]
        together = backend.pooling.pool([short, longer])
        assert together[0] == pytest.approx(backend.pooling.pool([short])[0], abs=1e-5)
        assert together[1] == pytest.approx(backend.pooling.pool([longer])[0], abs=1e-5)


def test_waiting_requests_share_one_forward_pass(generator: TransformersBackend) -> None:
    passes: list[int] = []

    class Counted(PoolingEngine):
        def pool(self, prompts: list[list[int]]) -> list[list[float]]:
            passes.append(len(prompts))
            return super().pool(prompts)

    engine = Counted(generator.model, "last", max_batch=3)
    futures = [engine.submit([index + 1] * (index + 2)) for index in range(5)]  # all waiting before it starts
    engine.start()
    try:
        vectors = [future.result(timeout=30) for future in futures]
    finally:
        engine.stop()
    assert passes == [3, 2] and all(len(vector) == 128 for vector in vectors)


def test_pooling_modes_take_the_last_the_mean_or_the_first_token() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]], [[2.0, 2.0], [4.0, 0.0], [6.0, 4.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    lengths = torch.tensor([2, 3])
    assert _pooled(hidden, mask, lengths, "last").tolist() == [[3.0, 2.0], [6.0, 4.0]]
    assert _pooled(hidden, mask, lengths, "mean").tolist() == [[2.0, 1.0], [4.0, 2.0]]
    assert _pooled(hidden, mask, lengths, "cls").tolist() == [[1.0, 0.0], [2.0, 2.0]]


def test_a_model_not_trained_to_shorten_refuses_dimensions(generator: TransformersBackend) -> None:
    assert len(generator.embed(embedding("x", dimensions=128)).vector) == 128  # its own length is fine
    with pytest.raises(RequestRefused) as refused:
        generator.embed(embedding("x", dimensions=64))
    assert refused.value.field == "dimensions" and "cannot be shortened" in refused.value.why


def test_an_embedding_model_pools_as_its_config_says_and_shortens_to_the_lengths_it_lists(
    encoder: TransformersBackend,
) -> None:
    assert encoder.embeddings is not None and encoder.embeddings.pooling == "mean"
    full = encoder.embed(embedding("hello world")).vector
    short = encoder.embed(embedding("hello world", dimensions=16)).vector
    assert len(full) == 64 and len(short) == 16 and norm(short) == pytest.approx(1.0, abs=1e-5)
    assert short == pytest.approx([value / norm(full[:16]) for value in full[:16]], abs=1e-5)
    with pytest.raises(RequestRefused) as refused:
        encoder.embed(embedding("hello world", dimensions=20))
    assert refused.value.field == "dimensions" and ", ".join(map(str, MATRYOSHKA_DIMENSIONS)) in refused.value.why


def test_an_embedding_model_refuses_to_generate(encoder: TransformersBackend) -> None:
    params = TaskParams(prompt="hi", max_tokens=4, temperature=0.0, top_p=1.0)
    with pytest.raises(RequestRefused) as refused:
        encoder.generate(GenerationRequest("tiny-bert", params, time.monotonic() + 60))
    assert refused.value.field == "model" and "/v1/embeddings" in refused.value.why


def test_an_embedding_travels_as_float32_base64() -> None:
    vector = [0.1, -0.25, 1 / 3]
    encoded = embeddings.encode(vector)
    assert len(encoded) == 16  # 12 bytes in base64
    assert embeddings.decode(encoded) == pytest.approx(vector, abs=1e-7)
