"""Tenants in the api: a key listed by a declared tenant is valid and shares the tenant's limits; token
budgets refuse with 429, the limit named, Retry-After and OpenAI's x-ratelimit headers; a tenant's change
applies without a restart. (Tenants are published into Redis as the operator does, contract/tenants.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import redis
from flask.testing import FlaskClient

from contract import model_registry, tenants
from contract.names import TASK_KEY_PATTERN, in_flight_key
from contract.tenants import Limits, Tenant

HEADERS_FOR = "X-API-Key"
DB = 5


def declare(db: redis.Redis, keys: list[str], **limits: int) -> Tenant:
    tenant = Tenant(
        name=f"team-{uuid.uuid4().hex[:6]}",
        resource="default/team",
        key_digests=[model_registry.digest(key) for key in keys],
        limits=Limits(**limits),
    )
    tenants.publish(db, tenant)
    return tenant


@pytest.fixture
def tenant_client(client_with: Callable[..., FlaskClient]) -> FlaskClient:
    found = client_with(DB)
    found.application.extensions["llm_services"].tenants.refresh_seconds = 0  # read the tenants on every request
    return found


@pytest.fixture
def db(api_redis: object) -> redis.Redis:
    return redis.Redis.from_url(api_redis.url(DB), decode_responses=True)  # type: ignore[attr-defined]


def generate(client: FlaskClient, key: str, max_tokens: int = 8) -> object:
    body = {"prompt": "hello there", "max_tokens": max_tokens}
    return client.post("/generate", headers={HEADERS_FOR: key}, json=body)


def test_a_tenants_keys_are_valid_and_share_its_request_rate(tenant_client: FlaskClient, db: redis.Redis) -> None:
    # Given a tenant with two keys (neither in API_KEYS) and 2 requests per minute
    declare(db, ["team-key-1", "team-key-2"], requests_per_minute=2, burst=2)
    # When each key sends one request, then the first another
    answers = [generate(tenant_client, key) for key in ("team-key-1", "team-key-2", "team-key-1")]
    # Then both keys were let in, and the third request found the tenant's budget spent
    assert [answer.status_code for answer in answers] == [202, 202, 429]  # type: ignore[attr-defined]
    assert int(answers[2].headers["Retry-After"]) >= 1  # type: ignore[attr-defined]
    # and a key no tenant lists is still refused
    assert generate(tenant_client, "not-a-key").status_code == 401  # type: ignore[attr-defined]


def test_an_output_token_budget_refuses_naming_the_limit(tenant_client: FlaskClient, db: redis.Redis) -> None:
    # Given a tenant with 20 output tokens per minute
    declare(db, ["budget-key"], output_tokens_per_minute=20)
    # When it asks for 16, then 8 more
    first, second = generate(tenant_client, "budget-key", 16), generate(tenant_client, "budget-key", 8)
    # Then the second is refused: 429, the limit named in the body, when to come back
    assert (first.status_code, second.status_code) == (202, 429)  # type: ignore[attr-defined]
    body = second.get_json()  # type: ignore[attr-defined]
    assert body["limit"] == "output_tokens_per_minute" and "20 output tokens per minute" in body["error"]
    assert 1 <= int(second.headers["Retry-After"]) <= 60  # type: ignore[attr-defined]
    # and nothing of it was stored: the tenant's minute holds the first request's 16 tokens only
    assert (generate(tenant_client, "budget-key", 4)).status_code == 202  # type: ignore[attr-defined]


def test_openai_routes_carry_openai_rate_limit_headers(tenant_client: FlaskClient, db: redis.Redis) -> None:
    declare(db, ["oa-key"], input_tokens_per_minute=1000, output_tokens_per_minute=30)
    # (streamed: the answer starts before any worker runs the task, and this tier has none)
    body = {"model": "tiny", "prompt": "hi", "max_tokens": 20, "stream": True}
    headers = {"Authorization": "Bearer oa-key"}
    # An accepted request says what is left of the tightest minute budget
    accepted = tenant_client.post("/v1/completions", headers=headers, json=body, buffered=False)
    assert accepted.status_code == 200
    limit, remaining = accepted.headers["x-ratelimit-limit-tokens"], accepted.headers["x-ratelimit-remaining-tokens"]
    assert (limit, remaining) == ("30", "10")
    accepted.close()
    # and a request refused for tokens says so in OpenAI's shape and headers
    refused = tenant_client.post("/v1/completions", headers=headers, json=body)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["type"] == "rate_limit_error"
    assert refused.get_json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-limit-tokens"] == "30"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "10"
    assert refused.headers["x-ratelimit-reset-tokens"].endswith("s")


def test_a_tenant_changed_applies_without_a_restart(tenant_client: FlaskClient, db: redis.Redis) -> None:
    # Given a tenant whose budget is spent
    tenant = declare(db, ["changing-key"], output_tokens_per_minute=8)
    assert generate(tenant_client, "changing-key", 8).status_code == 202  # type: ignore[attr-defined]
    assert generate(tenant_client, "changing-key", 8).status_code == 429  # type: ignore[attr-defined]
    # When its limit is raised (as the operator writes an LLMTenant's change)
    tenants.publish(db, Tenant(**{**tenant.__dict__, "limits": Limits(output_tokens_per_minute=1000)}))
    # Then the next request is let in by the same app
    assert generate(tenant_client, "changing-key", 8).status_code == 202  # type: ignore[attr-defined]
    # and when the tenant is withdrawn, its key is no longer valid
    tenants.withdraw(db, tenant.name)
    assert generate(tenant_client, "changing-key", 8).status_code == 401  # type: ignore[attr-defined]


def test_a_request_not_accepted_after_all_gives_its_reservation_back(
    tenant_client: FlaskClient, db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tenant with one request in flight at most, and Redis failing as a request is queued
    tenant = declare(db, ["unlucky-key"], max_in_flight=1, output_tokens_per_minute=100)

    def fails(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("lost on the way")

    monkeypatch.setattr("api.tasks.submission.fair_queue.admit", fails)
    # When it submits, it hears 503, and nothing of the request is kept
    assert generate(tenant_client, "unlucky-key", 60).status_code == 503  # type: ignore[attr-defined]
    assert db.zcard(in_flight_key(tenant.name)) == 0 and not list(db.scan_iter(match=TASK_KEY_PATTERN))
    # Then, Redis back, its retry finds its place in flight and its tokens free
    monkeypatch.undo()
    assert generate(tenant_client, "unlucky-key", 60).status_code == 202  # type: ignore[attr-defined]
