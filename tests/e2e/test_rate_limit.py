"""The documented limit, with the default settings: bursts of 10 per key, the 11th is 429."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from client_example import LLMClient, RateLimitError

from ..support.stack import Api, Process, RedisServer, Started, sample, scrape

KEY_A, KEY_B, KEY_C, KEY_E = "rate-key-a", "rate-key-b", "rate-key-c", "rate-key-e"


@pytest.fixture(scope="module")
def default_limits_api(module_started: Started, redis_server: RedisServer, model_settings: dict[str, object]) -> Api:
    return module_started.api(redis_server.url(), api_keys=f"{KEY_A},{KEY_B},{KEY_C},{KEY_E}", **model_settings)


def post(api: Api, key: str) -> requests.Response:
    return requests.post(api.url("/generate"), headers={"X-API-Key": key}, json={"prompt": "x", "max_tokens": 1})


def test_eleventh_request_in_a_burst_is_429_and_other_keys_are_unaffected(default_limits_api: Api) -> None:
    # Given ten requests back to back with one key
    statuses = [post(default_limits_api, KEY_A).status_code for _ in range(10)]
    assert statuses == [202] * 10
    # When the eleventh arrives
    limited = post(default_limits_api, KEY_A)
    # Then it is 429 with the documented body and a Retry-After, and another key still passes
    assert limited.status_code == 429
    assert limited.json() == {"error": "Rate limit exceeded", "status_code": 429}
    assert int(limited.headers["Retry-After"]) >= 1
    assert post(default_limits_api, KEY_B).status_code == 202
    # And the rejection is counted on /metrics
    rejections = sample(scrape(default_limits_api.url("/metrics")), "llm_service:rate_limit_rejections_total")
    assert rejections == 1


def test_the_client_raises_rate_limit_error_with_the_retry_delay(default_limits_api: Api) -> None:
    client = LLMClient(base_url=default_limits_api.base_url, api_key=KEY_C)
    for _ in range(10):
        client.generate(prompt="x", max_tokens=1, wait=False)
    with pytest.raises(RateLimitError) as limited:
        client.generate(prompt="x", max_tokens=1, wait=False)
    assert limited.value.status_code == 429 and limited.value.retry_after >= 1


def test_one_budget_covers_every_generation_route(default_limits_api: Api) -> None:
    # Given a key that spent its burst on /generate
    assert [post(default_limits_api, KEY_E).status_code for _ in range(10)] == [202] * 10
    # Then neither /v1 route has a budget of its own
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1}
    for route, body in (("/v1/chat/completions", chat), ("/v1/completions", {"model": "tiny", "prompt": "x"})):
        refused = requests.post(default_limits_api.url(route), headers={"X-API-Key": KEY_E}, json=body, timeout=10)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_unauthenticated_requests_do_not_spend_a_keys_budget(default_limits_api: Api) -> None:
    for _ in range(12):
        assert requests.post(default_limits_api.url("/generate"), json={"prompt": "x"}).status_code == 401
    assert post(default_limits_api, KEY_B).status_code == 202


KEYS_D = {"/generate": "rate-key-d1", "/v1/completions": "rate-key-d2"}


@pytest.fixture(scope="module")
def fresh_key_api(
    module_started: Started, redis_server: RedisServer, model_settings: dict[str, object], worker: Process
) -> Api:
    return module_started.api(redis_server.url(), api_keys=",".join(KEYS_D.values()), **model_settings)


@pytest.mark.parametrize("route", ["/generate", "/v1/completions"])
def test_invalid_requests_do_not_spend_a_keys_budget(fresh_key_api: Api, route: str) -> None:
    # Given a key that sent a dozen requests the api refused as invalid (bad field, not JSON, too large)
    headers = {"X-API-Key": KEYS_D[route]}  # a key per route: the routes share one budget
    for _ in range(4):
        assert (
            requests.post(fresh_key_api.url(route), headers=headers, json={"prompt": "x", "max_tokens": 0}).status_code
            == 400
        )
        refused = requests.post(fresh_key_api.url(route), headers={**headers, "Content-Type": "text/plain"}, data="x")
        assert refused.status_code == 415
        huge = {"prompt": "x" * 2_000_000, "model": "tiny"}
        assert requests.post(fresh_key_api.url(route), headers=headers, json=huge).status_code == 413
    # When it then sends valid ones, its whole burst is still there
    body = {"prompt": "x", "max_tokens": 1, **({"model": "tiny"} if route.startswith("/v1") else {})}
    statuses = [requests.post(fresh_key_api.url(route), headers=headers, json=body).status_code for _ in range(11)]
    assert statuses[:10] == [202 if route == "/generate" else 200] * 10 and statuses[10] == 429


KEYS_F = {"refused": "rate-key-f1", "tasks": "rate-key-f2", "management": "rate-key-f3", "waiting": "rate-key-f4"}


@pytest.fixture(scope="module")
def counting_api(
    module_started: Started, redis_server: RedisServer, model_settings: dict[str, object], worker: Process
) -> Api:
    return module_started.api(
        redis_server.url(),
        api_keys=",".join(KEYS_F.values()),
        webhook_allowed_hosts="hooks.example.com",
        rate_limit_per_minute=4,
        rate_limit_burst=4,
        **model_settings,
    )


def test_a_request_refused_for_any_reason_costs_nothing(counting_api: Api) -> None:
    headers = {"X-API-Key": KEYS_F["refused"]}

    def send(**body: object) -> int:
        payload = {"prompt": "x", "max_tokens": 1, **body}
        return requests.post(counting_api.url("/generate"), headers=headers, json=payload, timeout=10).status_code

    # Refused after validation: a callback to a host not allowed, a model nobody serves
    assert [send(callback_url="http://169.254.169.254/x") for _ in range(5)] == [400] * 5
    assert [send(model="nobody-serves-this") for _ in range(5)] == [400] * 5
    # The burst is whole
    assert [send() for _ in range(5)] == [202] * 4 + [429]


def test_each_task_a_request_creates_counts(counting_api: Api) -> None:
    headers = {"X-API-Key": KEYS_F["tasks"]}
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1}
    route = counting_api.url("/v1/chat/completions")
    assert requests.post(route, headers=headers, json={**chat, "n": 3}, timeout=60).status_code == 200
    assert requests.post(route, headers=headers, json={**chat, "n": 2}, timeout=60).status_code == 429  # 3 + 2 > 4
    assert requests.post(route, headers=headers, json=chat, timeout=60).status_code == 200  # the 4th task
    beyond = requests.post(route, headers=headers, json={**chat, "n": 5}, timeout=60)
    assert beyond.status_code == 400 and beyond.json()["error"]["param"] == "n"  # never within the burst of 4


def test_files_batches_and_cancels_have_a_budget_of_their_own(counting_api: Api) -> None:
    headers = {"X-API-Key": KEYS_F["management"]}
    cancels = [
        requests.post(counting_api.url(f"/cancel/{index}"), headers=headers, timeout=10).status_code
        for index in range(5)
    ]
    assert cancels == [404] * 5  # refused: free
    task_id = requests.post(
        counting_api.url("/generate"), headers=headers, json={"prompt": "x", "max_tokens": 900}, timeout=10
    ).json()["task_id"]
    answered = [requests.post(counting_api.url(f"/cancel/{task_id}"), headers=headers, timeout=10) for _ in range(5)]
    assert [response.status_code for response in answered][-1] == 429
    assert all(response.status_code in (200, 202) for response in answered[:4])


def test_requests_that_wait_for_their_answer_count_from_their_start(counting_api: Api) -> None:
    headers = {"X-API-Key": KEYS_F["waiting"]}
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 600, "temperature": 0}
    route = counting_api.url("/v1/chat/completions")
    with ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(requests.post, route, headers=headers, json=chat, timeout=120) for _ in range(4)]
        time.sleep(1.0)  # the four are accepted and generating, none answered yet
        assert not any(future.done() for future in waiting)
        assert requests.post(route, headers=headers, json={**chat, "max_tokens": 1}, timeout=60).status_code == 429
        assert [future.result().status_code for future in waiting] == [200] * 4
