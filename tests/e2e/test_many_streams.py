"""Many open streams (Gunicorn's gevent workers and one event reader per process): they neither starve other
requests nor hold Redis connections, they all get their events, and past capacity the answer is a clear 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from ..support.stack import API_KEY, Api, RedisServer, Started, submit, wait_until
from ..support.streams import api_connections, finish, follow, open_all, session

MODEL = "nobody-serves-this"  # tasks stay queued: their streams stay open until the test moves them
OPEN = 600
LIMITS = {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()  # of its own, so that its client count is the api's
    yield server
    server.stop()


def timed(method: str, url: str, **kwargs: object) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=10, **kwargs)  # type: ignore[arg-type]
    return response.status_code, time.monotonic() - started


def test_hundreds_of_open_streams_starve_nothing_and_all_get_their_events(
    started: Started, tmp_path: Path, own_redis: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given 600 queued tasks and an api with its default workers
    settings = {**model_settings, "served_model_name": MODEL, **LIMITS}
    api = started.api(own_redis.url(), api_keys=API_KEY, **settings)
    task_ids = [submit(api, prompt=f"p{i}", max_tokens=1) for i in range(OPEN)]
    client = redis.Redis(port=own_redis.port, decode_responses=True)

    async def scenario() -> tuple[list, list[tuple[int, float]], int]:  # type: ignore[type-arg]
        async with session(OPEN + 50) as http:
            # When every one of them is open and has its first event
            streams = await open_all(http, api, task_ids, 120)
            connections_open = api_connections(client)
            # Then submissions and health checks still answer, and quickly
            answers = await asyncio.to_thread(
                lambda: (
                    [timed("get", api.url("/health")) for _ in range(10)]
                    + [
                        timed("post", api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "x"})
                        for _ in range(10)
                    ]
                )
            )
            # And when the tasks move on, every stream gets the rest, to the end
            await asyncio.to_thread(finish, own_redis.url(), task_ids, "hello")
            return await asyncio.wait_for(asyncio.gather(*streams), 120), answers, connections_open

    results, answers, connections_open = asyncio.run(scenario())
    assert [status for status, _ in answers] == [200] * 10 + [202] * 10
    assert max(seconds for _, seconds in answers) < 5  # a bound for starvation, not a benchmark
    assert all(r.status == 200 for r in results)
    assert all([e["status"] for e in r.events] == ["queued", "processing", "processing", "completed"] for r in results)
    assert all(r.events[2]["delta"] == "hello" for r in results)
    # And the api's Redis connections did not grow with the streams: its pools are bounded, whatever the
    # number of streams (bench/streams.py shows the same count at 1,000 and 5,000)
    assert connections_open < OPEN / 2, connections_open


def test_past_capacity_a_stream_gets_503_and_the_api_stays_ready(
    started: Started, tmp_path: Path, own_redis: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given an api whose two workers follow at most 5 streams each
    settings = {**model_settings, "served_model_name": MODEL, **LIMITS}
    api = started.api(own_redis.url(), api_keys=API_KEY, max_open_streams=5, **settings)
    task_ids = [submit(api, prompt=f"p{i}", max_tokens=1) for i in range(30)]

    async def scenario() -> list:  # type: ignore[type-arg]
        async with session(40) as http:
            streams = [asyncio.create_task(follow(http, api, task_id, until_final=True)) for task_id in task_ids]
            # When 30 ask at once, 20 at least are refused (the accepted ones stay open, on queued tasks)
            done = set()
            while len(done) < 20:
                done, _ = await asyncio.wait(streams, timeout=30, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    break
            health = await asyncio.to_thread(timed, "get", api.url("/health"))
            await asyncio.to_thread(finish, own_redis.url(), task_ids)
            return [*(await asyncio.wait_for(asyncio.gather(*streams), 60)), health]

    *results, health = asyncio.run(scenario())
    refused = [r for r in results if r.status == 503]
    assert len(refused) >= 20 and all(r.retry_after and int(r.retry_after) >= 1 for r in refused)
    assert sum(r.status == 200 for r in results) == len(results) - len(refused) <= 10
    # Then readiness was never lost to being busy
    assert health[0] == 200


def test_a_dropped_stream_frees_its_place(
    started: Started, tmp_path: Path, own_redis: RedisServer, model_settings: dict[str, object]
) -> None:
    # Given an api with one worker process that follows one stream at most, following one; with no keep-alive
    # and no end of life for an hour, only noticing the closed socket can free it within the deadline below,
    # which is generous so that a loaded machine cannot miss it
    quiet = {"sse_keepalive_seconds": 3600, "sse_max_seconds": 3600}
    settings = {**model_settings, "served_model_name": MODEL, **LIMITS, **quiet}
    api = started.api(own_redis.url(), api_keys=API_KEY, max_open_streams=1, api_workers=1, **settings)
    first, second = submit(api, prompt="a", max_tokens=1), submit(api, prompt="b", max_tokens=1)
    held = requests.get(api.url(f"/stream/{first}"), headers={"X-API-Key": API_KEY}, stream=True, timeout=10)
    assert held.status_code == 200, held.text
    first_line = next(held.iter_lines())
    assert stream_status(api, second) == 503, first_line
    # When its client goes away
    held.close()
    # Then the place is free again
    wait_until(lambda: stream_status(api, second) == 200, 60, "the freed place")


def stream_status(api: Api, task_id: str) -> int:
    response = requests.get(api.url(f"/stream/{task_id}"), headers={"X-API-Key": API_KEY}, stream=True, timeout=10)
    status = response.status_code
    response.close()
    return status
