"""The submit path alone: how many `POST /generate` per second the api accepts, and how fast, beside the
minimal submit app (bench/minimal_app.py: key, rate limit, HSET, enqueue) measured in the same run.

Starts its own redis-server, the api (no worker: tasks simply wait in Redis, rate limit raised through
its settings) and the minimal app, and sends a fixed number of requests to each from keep-alive client
threads on loopback.

    .venv/bin/python bench/submit.py [--requests 4000] [--concurrency 16] [--api-workers 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import API_KEY, ROOT, Api, Process, RedisServer, free_port, start_api, wait_until  # noqa: E402


def client(url: str, count: int, latencies: list[float], errors: list[int]) -> None:
    session = requests.Session()
    session.headers["X-API-Key"] = API_KEY
    for index in range(count):
        started = time.perf_counter()
        response = session.post(url, json={"prompt": f"request {index}", "max_tokens": 16})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 202:
            errors.append(response.status_code)


def load(url: str, requests_total: int, concurrency: int) -> tuple[float, list[float], list[int]]:
    """(requests per second, sorted latencies, non-202 statuses)."""
    latencies: list[float] = []
    errors: list[int] = []
    per_client = requests_total // concurrency
    threads = [threading.Thread(target=client, args=(url, per_client, latencies, errors)) for _ in range(concurrency)]
    client(url, 50, [], [])  # warm-up
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), sorted(latencies), errors


def start_minimal(workdir: Path, redis_url: str, workers: int) -> Api:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gevent",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "bench.minimal_app:app",
    ]
    env = {**os.environ, "REDIS_URL": redis_url, "API_KEYS": API_KEY, "PYTHONPATH": str(ROOT)}
    minimal = Api(Process(f"minimal-{port}", command, env, workdir), f"http://127.0.0.1:{port}")
    wait_until(lambda: listening(port), 30, "the minimal app")
    return minimal


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def row(name: str, rate: float, ordered: list[float], errors: list[int]) -> str:
    p50, p99 = statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000
    return f"| {name} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {ordered[-1] * 1000:.1f} | {len(errors)} |"


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
        minimal = start_minimal(workdir, server.url(db=1), args.api_workers)
        try:
            ours = load(api.url("/generate"), args.requests, args.concurrency)
            reference = load(minimal.url("/generate"), args.requests, args.concurrency)
        finally:
            api.stop()
            minimal.stop()
            server.stop()
    print(
        f"\nPOST /generate, {args.requests} requests from {args.concurrency} keep-alive clients, "
        f"{args.api_workers} Gunicorn workers each, {os.cpu_count()} CPU cores (clients share them)\n"
    )
    print("| app | requests/s | p50 ms | p99 ms | max ms | non-202 |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row("api", *ours))
    print(row("minimal submit app", *reference))
    ratio = ours[0] / reference[0]
    p99_ratio = ours[1][int(0.99 * (len(ours[1]) - 1))] / reference[1][int(0.99 * (len(reference[1]) - 1))]
    print(f"\napi / minimal: {ratio:.0%} of the requests per second, p99 {p99_ratio:.2f} times")


if __name__ == "__main__":
    main()
