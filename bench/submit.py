"""The submit path alone: how many `POST /generate` per second the api accepts, and how fast.

Starts its own redis-server and api (no worker: tasks simply wait in Redis), with the rate limit raised
through its settings, and sends a fixed number of requests from keep-alive client threads on loopback.

    .venv/bin/python bench/submit.py [--requests 4000] [--concurrency 16] [--api-workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stack import API_KEY, RedisServer, start_api  # noqa: E402


def client(url: str, count: int, latencies: list[float], errors: list[int]) -> None:
    session = requests.Session()
    session.headers["X-API-Key"] = API_KEY
    for index in range(count):
        started = time.perf_counter()
        response = session.post(url, json={"prompt": f"request {index}", "max_tokens": 16})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 202:
            errors.append(response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--api-workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir).start()
        api = start_api(
            workdir,
            server.url(),
            api_keys=API_KEY,
            api_workers=args.api_workers,
            log_level="WARNING",
            rate_limit_per_minute=10_000_000,
            rate_limit_burst=1_000_000,
            log_dir=workdir / "logs",
            model_name="bench",
        )
        latencies: list[float] = []
        errors: list[int] = []
        per_client = args.requests // args.concurrency
        threads = [
            threading.Thread(target=client, args=(api.url("/generate"), per_client, latencies, errors))
            for _ in range(args.concurrency)
        ]
        try:
            client(api.url("/generate"), 50, [], [])  # warm-up
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            api.stop()
            server.stop()
    ordered = sorted(latencies)
    print(
        f"\nPOST /generate, {len(latencies)} requests from {args.concurrency} keep-alive clients, "
        f"{args.api_workers} Gunicorn workers, {os.cpu_count()} CPU cores (clients share them)\n"
    )
    print("| requests/s | p50 ms | p99 ms | max ms | non-202 |")
    print("|---:|---:|---:|---:|---:|")
    p50, p99 = statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000
    print(f"| {len(latencies) / wall:.0f} | {p50:.1f} | {p99:.1f} | {ordered[-1] * 1000:.1f} | {len(errors)} |")


if __name__ == "__main__":
    main()
