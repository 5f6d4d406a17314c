"""No input makes a server error: property-based bodies for every route that parses one (JSON values of any
shape, nesting and type under the fields each route knows) and uploaded batch files of any lines (JSON or
not, deeply nested, wrong types). Every answer is below 500. The model is one nobody serves, so a body that
passes validation ends in 404 instead of waiting for a worker."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..support.stack import API_KEY

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
FIELDS = {
    "/generate": ["prompt", "max_tokens", "temperature", "top_p", "user_id", "callback_url", "logit_bias", "stop"],
    "/v1/completions": ["prompt", "max_tokens", "n", "echo", "logprobs", "stop", "seed", "logit_bias", "stream"],
    "/v1/chat/completions": ["messages", "tools", "tool_choice", "response_format", "logprobs", "n", "stop"],
    "/v1/embeddings": ["input", "encoding_format", "dimensions", "user"],
    "/v1/responses": ["input", "instructions", "tools", "tool_choice", "text", "metadata", "store", "background"],
}
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
NOBODY = "a-model-nobody-serves"


@pytest.fixture(scope="module")
def fuzzed(client_with: Callable[..., FlaskClient]) -> FlaskClient:
    return client_with(6, webhook_allowed_hosts="hooks.example.com")


def bodies(route: str) -> st.SearchStrategy[dict[str, Any]]:
    known = st.sampled_from(FIELDS[route]) | st.text(max_size=10)
    return st.dictionaries(known, VALUES, max_size=6).map(lambda body: {**body, "model": NOBODY})


@pytest.mark.parametrize("route", sorted(FIELDS))
def test_no_body_makes_a_server_error(fuzzed: FlaskClient, route: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(bodies(route))
    def check(body: dict[str, Any]) -> None:
        response = fuzzed.post(route, data=json.dumps(body), headers=HEADERS, content_type="application/json")
        assert response.status_code < 500, (body, response.get_json())

    check()


LINE = st.fixed_dictionaries(
    {"custom_id": st.text(max_size=6) | LEAVES, "method": st.sampled_from(["POST", "GET"]) | LEAVES},
    optional={"url": st.sampled_from(["/v1/chat/completions", "/v1/completions", "/x"]), "body": VALUES},
).map(json.dumps)
DEEP = st.integers(min_value=1, max_value=20_000).map(lambda depth: "[" * depth + "]" * depth)
LINES = st.lists(LINE | DEEP | st.text(max_size=40).filter(lambda text: "\n" not in text), min_size=1, max_size=5)


def test_no_batch_file_makes_a_server_error(fuzzed: FlaskClient) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(LINES)
    def check(lines: list[str]) -> None:
        content = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
        upload = fuzzed.post(
            "/v1/files",
            data={"purpose": "batch", "file": (io.BytesIO(content), "in.jsonl")},
            headers=HEADERS,
            content_type="multipart/form-data",
        )
        assert upload.status_code < 500, (lines, upload.get_json())
        if upload.status_code == 200:
            body = {
                "input_file_id": upload.get_json()["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            }
            created = fuzzed.post("/v1/batches", json=body, headers=HEADERS)
            assert created.status_code < 500, (lines, created.get_json())

    check()


@pytest.mark.parametrize("key", ["²", "1" * 5000, "-1", "٣"])
def test_a_logit_bias_key_that_is_not_a_token_id_is_400_naming_it(fuzzed: FlaskClient, key: str) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "logit_bias": {key: 1}}
    response = fuzzed.post("/v1/chat/completions", json=body, headers=HEADERS)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "logit_bias"


def test_a_deeply_nested_batch_line_is_named_not_a_server_error(fuzzed: FlaskClient) -> None:
    line = "[" * 100_000 + "]" * 100_000
    upload = fuzzed.post(
        "/v1/files",
        data={"purpose": "batch", "file": (io.BytesIO(line.encode() + b"\n"), "deep.jsonl")},
        headers=HEADERS,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 400 and "nested too deeply" in json.dumps(upload.get_json())
