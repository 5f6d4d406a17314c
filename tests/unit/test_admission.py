"""What an LLMModel may ask for: an image from the allowlist, no environment the operator sets."""

from __future__ import annotations

from typing import Any

import pytest
from llm_operator.admission import refusal
from llm_operator.config import OperatorConfig

CONFIG = OperatorConfig(worker_image="ghcr.io/x/worker:1", allowed_images="registry.example.com/llm/, worker:")  # type: ignore[arg-type]


def model(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "m", "namespace": "ns"}, "spec": {"model": "org/m", **spec}}


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"image": "ghcr.io/x/worker:1"},
        {"image": "registry.example.com/llm/cuda:2"},
        {"env": [{"name": "KV_CACHE_MEMORY_FRACTION", "value": "0.9"}, {"name": "HF_TOKEN", "value": "t"}]},
    ],
)
def test_what_the_operator_allows_runs(spec: dict[str, Any]) -> None:
    assert refusal(model(**spec), CONFIG) is None


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"image": "registry.example.com/other/cuda:2"}, "spec.image"),
        ({"image": "ghcr.io/x/worker:2"}, "spec.image"),
        ({"env": [{"name": "REDIS_URL", "value": "x"}]}, "'REDIS_URL'"),
        ({"env": [{"name": "redis_password", "value": "x"}]}, "'redis_password'"),
        ({"env": [{"name": "PYTHONPATH", "value": "/x"}]}, "'PYTHONPATH'"),
        ({"env": [{"name": "LD_PRELOAD", "value": "/x.so"}]}, "'LD_PRELOAD'"),
        ({"env": [{"name": "SERVED_MODEL_NAME", "value": "other"}]}, "'SERVED_MODEL_NAME'"),
    ],
)
def test_what_would_reach_past_the_model_is_refused_naming_it(spec: dict[str, Any], words: str) -> None:
    found = refusal(model(**spec), CONFIG)
    assert found is not None and words in found
