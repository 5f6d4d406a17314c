"""Every error leaves in one JSON shape: ours on the native routes, OpenAI's under /v1; the probes and the
document answer without a key."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from ..support.stack import API_KEY


def test_an_unknown_route_is_404_json(client: FlaskClient) -> None:
    response = client.get("/no-such-route")
    assert (response.status_code, response.get_json()) == (404, {"error": "Not Found", "status_code": 404})


def test_a_wrong_method_is_405_naming_the_allowed_ones(client: FlaskClient) -> None:
    response = client.get("/generate")
    assert response.status_code == 405 and response.get_json()["status_code"] == 405
    assert "POST" in response.headers["Allow"]


def test_liveness_and_readiness_without_a_worker(client: FlaskClient) -> None:
    assert client.get("/livez").get_json() == {"status": "alive"}
    health = client.get("/health")
    assert health.status_code == 200
    assert (health.get_json()["status"], health.get_json()["model_loaded"]) == ("degraded", False)


def test_the_document_is_valid_openapi(client: FlaskClient) -> None:
    validate(client.get("/openapi.json").get_json())


@pytest.mark.parametrize(
    ("path", "headers", "status", "kind", "param"),
    [
        ("/v1/models", {}, 401, "authentication_error", None),
        ("/v1/models/no-such-model", {"Authorization": f"Bearer {API_KEY}"}, 404, "not_found_error", "model"),
    ],
)
def test_v1_errors_are_openais_body(
    client: FlaskClient, path: str, headers: dict[str, str], status: int, kind: str, param: str | None
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert (error["type"], error["param"]) == (kind, param) and set(error) == {"message", "type", "param", "code"}


def test_a_bad_v1_body_names_the_parameter_in_openais_shape(client: FlaskClient) -> None:
    response = client.post(
        "/v1/completions", headers={"Authorization": f"Bearer {API_KEY}"}, json={"prompt": "a", "max_tokens": 0}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "max_tokens"
    assert response.get_json()["error"]["type"] == "invalid_request_error"
