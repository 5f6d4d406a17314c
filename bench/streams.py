"""Thousands of open streams on one api (its default Gunicorn workers), on loopback.

For each N: N tasks that stay queued (no worker serves their model) are followed on /stream at once. While
they are open, the bench writes a delta to 100 of them every 0.2 s (as a worker would: through the task
store, one pipeline) and measures write-to-read latency; times POST /generate and /health; reads the
api's resident memory (Gunicorn master and workers) and the Redis connections the api holds. Then every
task is finished and every stream must reach its end.

    .venv/bin/python bench/streams.py [--streams 1000,5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import percentile  # noqa: E402
from contract.connections import make_redis  # noqa: E402
from contract.task_store import TaskStore  # noqa: E402
from tests.support.stack import API_KEY, Api, RedisServer, children_of, start_api  # noqa: E402
from tests.support.streams import api_connections, finish, open_all, session  # noqa: E402
from workers.model_builder import build  # noqa: E402

MODEL = "queued-only"
SAMPLED = 100


def rss_mib(pid: int) -> float:
    pids = [pid, *children_of(pid)]
    pages = sum(int(Path(f"/proc/{p}/statm").read_text().split()[1]) for p in pids if Path(f"/proc/{p}").exists())
    return pages * 4096 / 2**20


def submit_many(api: Api, count: int) -> list[str]:
    with requests.Session() as http:
        body = {"prompt": "x", "max_tokens": 1}
        return [
            http.post(api.url("/generate"), headers={"X-API-Key": API_KEY}, json=body, timeout=10).json()["task_id"]
            for _ in range(count)
        ]


def timings(method: str, url: str, count: int, **kwargs: object) -> list[float]:
    found = []
    for _ in range(count):
        started = time.monotonic()
        response = requests.request(method, url, timeout=30, **kwargs)  # type: ignore[arg-type]
        assert response.status_code in (200, 202), response.text
        found.append(time.monotonic() - started)
        time.sleep(0.05)
    return found


def write_deltas(redis_url: str, task_ids: list[str], stop: float) -> int:
    store = TaskStore(make_redis(redis_url), ttl_seconds=3600)
    written = 0
    while time.monotonic() < stop:
        store.append_deltas({task_id: json.dumps({"t": time.time()}) for task_id in task_ids})
        written += 1
        time.sleep(0.2)
    return written


async def one_size(api: Api, redis_server: RedisServer, count: int) -> dict[str, object]:
    task_ids = await asyncio.to_thread(submit_many, api, count)
    client = redis.Redis(port=redis_server.port, decode_responses=True)
    async with session(count + 100) as http:
        streams = await open_all(http, api, task_ids, 600)
        held = api_connections(client)
        stop = time.monotonic() + 10
        writer = asyncio.create_task(asyncio.to_thread(write_deltas, redis_server.url(), task_ids[:SAMPLED], stop))
        posts = await asyncio.to_thread(
            timings, "post", api.url("/generate"), 50, headers={"X-API-Key": API_KEY}, json={"prompt": "x"}
        )
        health = await asyncio.to_thread(timings, "get", api.url("/health"), 50)
        memory = rss_mib(api.process.pid)
        await writer
        await asyncio.to_thread(finish, redis_server.url(), task_ids)
        results = await asyncio.wait_for(asyncio.gather(*streams), 600)
    first = [r.first_event_after for r in results if r.first_event_after is not None]
    lags = [
        received - json.loads(event["delta"])["t"]
        for r in results[:SAMPLED]
        for event, received in zip(r.events, r.received_at, strict=True)
        if "delta" in event
    ]
    return {
        "streams": count,
        "ended": sum(1 for r in results if r.events and r.events[-1]["status"] == "completed"),
        "first event p50/p99 (s)": f"{statistics.median(first):.2f} / {percentile(first, 0.99):.2f}",
        "delta lag p50/p99 (ms)": f"{statistics.median(lags) * 1000:.0f} / {percentile(lags, 0.99) * 1000:.0f}",
        "POST /generate p50/p99 (ms)": f"{statistics.median(posts) * 1000:.0f} / {percentile(posts, 0.99) * 1000:.0f}",
        "/health p50/p99 (ms)": f"{statistics.median(health) * 1000:.0f} / {percentile(health, 0.99) * 1000:.0f}",
        "api RSS (MiB)": f"{memory:.0f}",
        "api Redis connections": held,  # named llm-api, llm-api-broker
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1000,5000")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    model = build(workdir / "model", seed=0)
    redis_server = RedisServer(workdir).start()
    api = start_api(
        workdir,
        redis_server.url(),
        api_keys=API_KEY,
        model_name=model,
        served_model_name=MODEL,
        rate_limit_per_minute=10_000_000,
        rate_limit_burst=1_000_000,
        max_queue_length=1_000_000,
        max_open_streams_per_key=100_000,  # one key opens them all here
        log_dir=workdir / "logs",
    )
    try:
        rows = [asyncio.run(one_size(api, redis_server, int(n))) for n in args.streams.split(",")]
    finally:
        api.stop()
        redis_server.stop()
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---:|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(value) for value in row.values()) + " |")


if __name__ == "__main__":
    main()
