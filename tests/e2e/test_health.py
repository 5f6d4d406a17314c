"""/health tells the truth: from live worker heartbeats, and 503 while Redis is down."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ..support.stack import API_KEY, Api, RedisServer, Started, wait_until


def health(api: Api) -> tuple[int, dict[str, Any]]:
    response = requests.get(api.url("/health"), timeout=5)
    return response.status_code, response.json()


def test_health_with_a_live_worker(api: Api) -> None:
    status, body = health(api)
    assert status == 200
    assert body == {
        "status": "healthy",
        "redis_connected": True,
        "model_loaded": True,
        "version": "1.0.0",
        "backend": "transformers",
        "model": "tiny",
        "available_models": body["available_models"],
    }
    assert "tiny" in body["available_models"]


def test_model_loaded_follows_workers_coming_and_going(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given an api on a Redis database where no worker has ever run
    url = redis_server.url(db=3)
    api = started.api(url, api_keys=API_KEY, **model_settings)
    status, body = health(api)
    assert status == 200
    assert (body["status"], body["model_loaded"], body["available_models"]) == ("degraded", False, [])
    # When a worker starts, then stops
    worker = started.worker(url, **model_settings)
    status, body = health(api)
    assert (body["status"], body["model_loaded"], body["available_models"]) == ("healthy", True, ["tiny"])
    worker.stop()
    # Then the api says so, without waiting for anything to be reconfigured
    assert wait_until(lambda: health(api)[1]["model_loaded"] is False, 60, "model_loaded to turn false")


def test_redis_down_is_503_and_every_route_recovers_by_itself(
    started: Started, model_settings: dict[str, object]
) -> None:
    # Given an api on its own Redis
    server = started.redis()
    api = started.api(server.url(), api_keys=API_KEY, **model_settings)
    headers = {"X-API-Key": API_KEY}
    assert health(api)[0] == 200
    # When Redis stops
    server.stop()
    # Then health is 503 unhealthy, and the queue routes answer 503 JSON with Retry-After, never 500
    status, body = health(api)
    assert status == 503 and body["status"] == "unhealthy" and body["redis_connected"] is False
    submitted = requests.post(api.url("/generate"), headers=headers, json={"prompt": "x"}, timeout=15)
    assert submitted.status_code == 503, submitted.text
    assert submitted.json()["status_code"] == 503 and "Redis" in submitted.json()["error"]
    assert int(submitted.headers["Retry-After"]) > 0
    assert requests.get(api.url("/status/some-id"), headers=headers, timeout=15).status_code == 503
    # And liveness is not readiness: the process still answers, so it is not restarted for Redis
    assert requests.get(api.url("/livez"), timeout=5).json() == {"status": "alive"}
    # When Redis returns on the same port, everything works again without a restart
    server.start()
    assert wait_until(lambda: health(api)[0] == 200, 15, "health to recover")
    again = requests.post(api.url("/generate"), headers=headers, json={"prompt": "x"}, timeout=5)
    assert again.status_code == 202


def test_the_client_maps_503_with_its_retry_delay(started: Started, model_settings: dict[str, object]) -> None:
    from client_example import LLMClient, ServiceUnavailableError

    server = started.redis()
    api = started.api(server.url(), api_keys=API_KEY, **model_settings)
    server.stop()
    with pytest.raises(ServiceUnavailableError) as unavailable:
        LLMClient(base_url=api.base_url, api_key=API_KEY).generate(prompt="x", wait=False)
    assert unavailable.value.status_code == 503 and unavailable.value.retry_after > 0
