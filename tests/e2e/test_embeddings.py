"""POST /v1/embeddings on a real api, worker and Redis, through the official openai client and LangChain's
OpenAIEmbeddings: the model `make run` serves (a generation model) answers embeddings, and an embedding
model (MODEL_TASK=embed, a tiny BERT built here) answers them shortened where it allows, and nothing else."""

from __future__ import annotations

import math
from pathlib import Path

import openai
import pytest
import redis
import requests
from langchain_openai import OpenAIEmbeddings

from contract.names import TASK_KEY_PATTERN
from workers.model_builder import SHAPES, build

from ..support.stack import API_KEY, Api, RedisServer, Started

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def test_the_default_model_embeds_strings_and_token_ids_in_order(
    client: openai.OpenAI, api: Api, redis_client: redis.Redis
) -> None:
    tasks_before = sum(1 for _ in redis_client.scan_iter(match=TASK_KEY_PATTERN))
    # one string (the client asks for base64 and decodes it)
    one = client.embeddings.create(model="tiny", input="hello world")
    vector = one.data[0].embedding
    assert len(vector) == 128 and norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert (one.usage.prompt_tokens, one.usage.total_tokens, one.model) == (11, 11, "tiny")
    # several, answered in input order, each as it is alone; floats asked for explicitly
    body = {"input": ["goodbye", "hello world"], "encoding_format": "float"}
    many = requests.post(api.url("/v1/embeddings"), json=body, headers=HEADERS, timeout=60).json()
    assert [item["index"] for item in many["data"]] == [0, 1] and many["usage"]["prompt_tokens"] == 18
    assert many["data"][1]["embedding"] == pytest.approx(vector, abs=1e-6)
    # token ids, one list or several
    ids = client.embeddings.create(model="tiny", input=[[1, 2, 3], [4, 5]])
    assert [len(item.embedding) for item in ids.data] == [128, 128] and ids.usage.prompt_tokens == 5
    # and no record is left behind: nobody could ask for one
    assert sum(1 for _ in redis_client.scan_iter(match=TASK_KEY_PATTERN)) == tasks_before


def test_what_the_model_cannot_do_is_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as shortened:
        client.embeddings.create(model="tiny", input="x", dimensions=64)
    assert shortened.value.param == "dimensions" and "cannot be shortened" in shortened.value.message
    with pytest.raises(openai.BadRequestError) as too_long:
        client.embeddings.create(model="tiny", input="x" * 1100)  # the tiny model's context is 1,024 tokens
    assert too_long.value.param == "input" and too_long.value.code == "context_length_exceeded"
    assert "exceeds the model's context of 1024 tokens" in too_long.value.message
    with pytest.raises(openai.BadRequestError) as outside:
        client.embeddings.create(model="tiny", input=[[1, 99_999]])
    assert outside.value.param == "input" and "outside the model's vocabulary" in outside.value.message


def test_langchain_embeds_documents_and_a_query(api: Api) -> None:
    embedder = OpenAIEmbeddings(
        model="tiny",
        base_url=api.url("/v1"),
        api_key=API_KEY,
        check_embedding_ctx_length=False,
        max_retries=0,  # type: ignore[arg-type]
    )
    documents = embedder.embed_documents(["first document", "second document", "third"])
    query = embedder.embed_query("second document")
    assert [len(vector) for vector in documents] == [128, 128, 128]
    assert query == pytest.approx(documents[1], abs=1e-6)


def test_an_embedding_model_shortens_where_it_allows_and_refuses_to_generate(
    started: Started, redis_server: RedisServer, log_dir: Path, tmp_path: Path
) -> None:
    folder = build(tmp_path / "tiny-bert", shape=SHAPES["tiny-bert"])
    url = redis_server.url(db=9)
    redis.Redis.from_url(url).flushdb()
    settings = {"model_name": str(folder), "served_model_name": "tiny-bert", "log_dir": log_dir}
    started.worker(url, model_task="embed", **settings)
    api = started.api(url, api_keys=API_KEY, **settings)
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    full = client.embeddings.create(model="tiny-bert", input="hello world").data[0].embedding
    short = client.embeddings.create(model="tiny-bert", input="hello world", dimensions=16).data[0].embedding
    assert (len(full), len(short)) == (64, 16)
    assert short == pytest.approx([value / norm(full[:16]) for value in full[:16]], abs=1e-5)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="tiny-bert", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.param == "model" and "/v1/embeddings" in refused.value.message
