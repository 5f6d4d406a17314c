"""The transformers backend, through the production loading code, on the tiny model built here."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from contract.task_params import TaskParams
from workers.backends import GenerationRequest
from workers.backends.transformers import TransformersBackend


def request(
    prompt: str = "hello", max_tokens: int = 12, temperature: float = 0.0, seconds: float = 60, **options: object
) -> GenerationRequest:
    params = TaskParams.model_validate(
        {"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature, "top_p": 1.0, **options}
    )
    return GenerationRequest("tiny", params, time.monotonic() + seconds)


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> TransformersBackend:
    loaded = TransformersBackend(str(tiny_model))
    loaded.load()
    return loaded


def test_loads_on_cpu_in_float32_without_a_gpu(backend: TransformersBackend) -> None:
    assert backend.model.device.type == "cpu" and str(backend.model.dtype) == "torch.float32"
    assert not backend.model.training


def test_greedy_is_deterministic_and_honours_max_tokens(backend: TransformersBackend) -> None:
    first, second = backend.generate(request(max_tokens=20)), backend.generate(request(max_tokens=20))
    assert first.text == second.text
    assert (first.prompt_tokens, first.completion_tokens) == (second.prompt_tokens, second.completion_tokens) == (5, 20)


def test_text_arrives_in_deltas_that_join_to_the_result(backend: TransformersBackend) -> None:
    deltas: list[str] = []
    result = backend.generate(request(prompt="世界", max_tokens=80, temperature=1.0), on_text=deltas.append)
    assert len(deltas) > 1 and "".join(deltas) == result.text
    assert result.time_to_first_token is not None and result.time_to_first_token > 0


def test_sampling_varies_and_a_tiny_top_p_is_greedy(backend: TransformersBackend) -> None:
    greedy = backend.generate(request(max_tokens=30))
    sampled = {backend.generate(request(max_tokens=30, temperature=1.5)).text for _ in range(3)}
    assert len(sampled) > 1 and greedy.text not in sampled
    # top_p that keeps only the most likely token leaves no choice: the greedy text, at any temperature
    nucleus = backend.generate(request(max_tokens=30, temperature=1.5, top_p=1e-6))
    assert nucleus.text == greedy.text


def test_generation_stops_at_the_models_end_of_sequence_token(
    backend: TransformersBackend, tiny_model: Path, tmp_path: Path
) -> None:
    # Given a copy of the model whose end-of-sequence token is the one greedy decoding emits fourth
    inputs = backend.tokenizer("hello", return_tensors="pt")
    ids = backend.model.generate(**inputs, max_new_tokens=10, do_sample=False)[0, 5:].tolist()
    position = next(index for index in range(3, len(ids)) if ids[index] not in ids[:index])
    copy = Path(shutil.copytree(tiny_model, tmp_path / "eos-model"))
    config = json.loads((copy / "generation_config.json").read_text())
    config["eos_token_id"] = ids[position]
    (copy / "generation_config.json").write_text(json.dumps(config))
    eos_backend = TransformersBackend(str(copy))
    eos_backend.load()
    # When it generates with room for ten tokens
    result = eos_backend.generate(request(max_tokens=10))
    # Then it stops right after that token
    assert result.completion_tokens == position + 1


def test_deadline_stops_generation_with_timeout_error(backend: TransformersBackend) -> None:
    with pytest.raises(TimeoutError, match="time limit"):
        backend.generate(request("x", 900, seconds=0.05))
    with pytest.raises(TimeoutError):
        backend.generate(request("x", 5, seconds=-1))
