"""Usage through the whole stack: a real worker's tasks are counted once, with the tokens the answers
reported, in the usage API and on /metrics."""

from __future__ import annotations

import time

import requests

from api.http.auth import key_id

from ..support.stack import Process, RedisServer, Started, sample, scrape, wait_until

KEY = "usage-e2e-key"


def test_a_keys_completions_and_tasks_are_counted_with_their_tokens(
    started: Started, redis_server: RedisServer, model_settings: dict[str, object], worker: Process
) -> None:
    # Given an api with a key of its own, in front of the session's worker
    api = started.api(redis_server.url(), api_keys=KEY, **model_settings)
    since, v1 = int(time.time()), {"Authorization": f"Bearer {KEY}"}
    # When it asks for a completion and a native task
    answer = requests.post(
        api.url("/v1/completions"),
        headers=v1,
        json={"model": "tiny", "prompt": "count me", "max_tokens": 3},
        timeout=60,
    ).json()["usage"]
    task = requests.post(
        api.url("/generate"), headers=v1, json={"prompt": "and me", "max_tokens": 2, "temperature": 0}, timeout=10
    )
    assert task.status_code == 202

    def today() -> dict[str, int]:
        query = {"start_time": since, "bucket_width": "1d"}
        found = requests.get(api.url("/v1/organization/usage/completions"), headers=v1, params=query, timeout=10)
        results = [result for bucket in found.json()["data"] for result in bucket["results"]]
        names = ("input_tokens", "output_tokens", "num_model_requests")
        return {name: sum(result[name] for result in results) for name in names}

    # Then both are counted, the completion with the tokens its answer reported
    counted = wait_until(lambda: (found := today())["num_model_requests"] == 2 and found, 60, "both tasks counted")
    assert (
        counted["input_tokens"] > answer["prompt_tokens"]
        and counted["output_tokens"] == answer["completion_tokens"] + 2
    )
    # And /metrics says the same, by key and model
    metrics = scrape(api.url("/metrics"))
    labels = {"api_key_id": key_id(KEY), "model_name": "tiny"}
    assert sample(metrics, "llm_service:usage_requests_total", **labels) == 2
    assert sample(metrics, "llm_service:usage_tokens_total", kind="output", **labels) == counted["output_tokens"]
