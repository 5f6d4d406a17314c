"""POST /v1/embeddings' refusals, before anything is queued: 400 naming the field (OpenAI's error body), 404
for an unknown model; and an embedding model refused by name on the generation routes."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from contract import model_registry
from contract.names import TASK_KEY_PATTERN
from contract.queue_depth import waiting_requests

from ..support.stack import API_KEY
from .conftest import MODEL

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def tasks(client: redis.Redis) -> int:
    return sum(1 for _ in client.scan_iter(match=TASK_KEY_PATTERN, count=1000))


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "input", "required"),
        ({"input": ""}, "input", "input 0 is not a non-empty string"),
        ({"input": []}, "input", "1 to 2048 inputs, not 0"),
        ({"input": ["a"] * 2049}, "input", "1 to 2048 inputs, not 2049"),
        ({"input": ["a", ""]}, "input", "input 1 is not"),
        ({"input": [[1, 2], []]}, "input", "input 1 is not"),
        ({"input": [1, -2]}, "input", "input 0 holds a negative token id"),
        ({"input": [[1], [3, -1]]}, "input", "input 1 holds a negative token id"),
        ({"input": [True, False]}, "input", "input 0 is not"),
        ({"input": 42}, "input", "a string, a list of strings"),
        ({"input": {"text": "x"}}, "input", "a string, a list of strings"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format", "'float' or 'base64'"),
        ({"input": "x", "dimensions": 0}, "dimensions", "greater than or equal to 1"),
        ({"input": "x", "dimensions": "8"}, "dimensions", "valid integer"),
        ({"input": "x", "model": 7}, "model", "valid string"),
    ],
)
def test_a_bad_embeddings_request_is_400_naming_the_field_and_queues_nothing(
    client: FlaskClient, redis_client: redis.Redis, body: dict[str, Any], field: str, words: str
) -> None:
    before = tasks(redis_client), waiting_requests(redis_client, MODEL)
    response = client.post("/v1/embeddings", json=body, headers=HEADERS)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["param"], error["type"]) == (field, "invalid_request_error") and words in error["message"]
    assert (tasks(redis_client), waiting_requests(redis_client, MODEL)) == before


def test_an_unknown_model_is_404_and_a_missing_key_401(client: FlaskClient) -> None:
    response = client.post("/v1/embeddings", json={"input": "x", "model": "nope"}, headers=HEADERS)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "model_not_found"
    assert client.post("/v1/embeddings", json={"input": "x"}).status_code == 401


def test_an_embedding_model_is_refused_by_name_on_every_generation_route(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    model_registry.publish(redis_client, model_registry.RegisteredModel("embedder", "ns/embedder", task="embed"))
    try:
        asked = [
            client.post("/generate", json={"prompt": "x", "model": "embedder"}, headers=HEADERS),
            client.post("/v1/completions", json={"prompt": "x", "model": "embedder"}, headers=HEADERS),
            client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "x"}], "model": "embedder"},
                headers=HEADERS,
            ),
            client.post("/v1/responses", json={"input": "x", "model": "embedder"}, headers=HEADERS),
        ]
        for response in asked:
            assert response.status_code == 400, response.get_json()
            assert "embedding model" in str(response.get_json())
        assert waiting_requests(redis_client, "embedder") == 0
    finally:
        model_registry.withdraw(redis_client, "embedder", "ns/embedder")
