"""JSON output under a schema (workers/engine/grammar.py, llguidance): whatever the tiny random model would
say, greedy or sampled, the text parses and validates, and a schema llguidance refuses is refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch

from contract.refusals import RequestRefused
from contract.task_params import TaskParams
from workers.backends import GenerationRequest
from workers.backends.transformers import TransformersBackend
from workers.engine.grammar import Grammars

from ..support.backends import running_backend

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 6},
        "ok": {"type": "boolean"},
        "count": {"type": "integer", "minimum": 0, "maximum": 999},
        "colour": {"enum": ["red", "green", "blue"]},
    },
    "required": ["name", "ok", "count", "colour"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> Iterator[TransformersBackend]:
    yield from running_backend(tiny_model, "batch", max_batch_size=4)


def ask(temperature: float, seed: int | None = None, schema: dict[str, Any] = SCHEMA) -> GenerationRequest:
    params = TaskParams(
        prompt="Answer in JSON:", max_tokens=120, temperature=temperature, top_p=1.0, seed=seed, json_schema=schema
    )
    return GenerationRequest("tiny", params, time.monotonic() + 60)


@pytest.mark.parametrize(("temperature", "seed"), [(0.0, None), (1.0, 1), (1.0, 2), (1.5, 3)])
def test_output_under_a_schema_parses_and_validates(
    backend: TransformersBackend, temperature: float, seed: int | None
) -> None:
    result = backend.generate(ask(temperature, seed))
    document = json.loads(result.text)
    jsonschema.validate(document, SCHEMA)
    assert result.finish_reason == "stop"


def test_without_the_schema_the_same_request_is_not_json(backend: TransformersBackend) -> None:
    params = TaskParams(prompt="Answer in JSON:", max_tokens=40, temperature=0.0, top_p=1.0)
    with pytest.raises(json.JSONDecodeError):
        json.loads(backend.generate(GenerationRequest("tiny", params, time.monotonic() + 60)).text)


def test_json_object_mode_gives_an_object(backend: TransformersBackend) -> None:
    result = backend.generate(ask(1.0, 4, {"type": "object"}))
    if result.finish_reason == "stop":  # an open-ended object may run to max_tokens
        assert isinstance(json.loads(result.text), dict)
    else:
        assert result.text.startswith("{")


@pytest.mark.parametrize(
    "schema",
    [{"type": "object", "properties": {"a": {"$ref": "#/missing"}}}, {"type": "not-a-type"}],
)
def test_a_schema_llguidance_cannot_compile_is_refused_as_response_format(
    backend: TransformersBackend, schema: dict[str, Any]
) -> None:
    with pytest.raises(RequestRefused) as refused:
        Grammars(backend.tokenizer).for_schema(schema)
    assert refused.value.field == "response_format" and "cannot be used" in refused.value.why


def test_the_mask_also_forbids_ids_past_the_tokenizers_vocabulary(backend: TransformersBackend) -> None:
    grammar = Grammars(backend.tokenizer).for_schema({"type": "boolean"})
    row = torch.zeros(1, len(backend.tokenizer) + 43)  # a model whose output layer is wider than the tokenizer
    grammar.mask(row)
    allowed = (row[0] > -torch.inf).nonzero().flatten().tolist()
    assert [backend.tokenizer.decode([token]) for token in allowed] == ["f", "t"]
