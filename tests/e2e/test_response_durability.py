"""Background responses are as durable as tasks: a worker SIGKILLed mid-response, the Redis primary killed
(Sentinels promote a replica) and the api restarted, and every response still ends whole, retrieved through
the official openai client from the new api."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ..support.sentinel import SentinelCluster
from ..support.stack import API_KEY, Api, Started, kill_worker, wait_until

TOKENS = 600


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    found = SentinelCluster(tmp_path).start()
    yield found
    found.stop()


def client_of(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=30)


def test_background_responses_survive_a_lost_worker_a_redis_failover_and_an_api_restart(
    started: Started, cluster: SentinelCluster, model_settings: dict[str, object]
) -> None:
    settings = {**model_settings, "worker_lost_after": 2, "heartbeat_interval": 0.5}
    worker = started.worker(cluster.url(), **settings)
    api = started.api(cluster.url(), api_keys=API_KEY, redis_wait_replicas=1, **settings)
    client = client_of(api)
    created = [
        client.responses.create(
            model="tiny", input=f"story {n}", background=True, max_output_tokens=TOKENS, temperature=0
        ).id
        for n in range(3)
    ]
    wait_until(lambda: client.responses.retrieve(created[0]).status == "in_progress", 60, "a response to run")
    # A worker killed mid-response, another started; the primary killed; the api restarted
    kill_worker(worker)
    started.worker(cluster.url(), **settings)
    old, _ = cluster.kill_primary()
    wait_until(lambda: cluster.primary_port() not in (None, old), 60, "a new primary")
    api.stop()
    client = client_of(started.api(cluster.url(), api_keys=API_KEY, redis_wait_replicas=1, **settings))

    def ended(response_id: str) -> openai.types.responses.Response | None:
        try:
            found = client.responses.retrieve(response_id)
        except (openai.APIConnectionError, openai.InternalServerError):
            return None  # the api between primaries
        return found if found.status not in ("queued", "in_progress") else None

    for response_id in created:
        found = wait_until(lambda rid=response_id: ended(rid), 240, f"{response_id} to end")  # type: ignore[misc]
        assert found.status == "incomplete" and found.usage is not None and found.usage.output_tokens == TOKENS
        assert found.output_text
