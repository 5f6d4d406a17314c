"""How long a request waits in Redis before an idle worker starts it, for several QUEUE_POLL_INTERVALs.

Starts its own redis-server, worker and api (loopback only) for each interval, sends requests one at a
time with an idle pause between them (so the worker's consumer has backed off, as between real
requests), and prints one table. Bounded: requests x (pause + generation) per interval.

    .venv/bin/python bench/queue_latency.py [--requests 15] [--pause 2] [--intervals 1.0,0.1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import API_KEY, RedisServer, start_api, start_worker, submit, wait_for_final  # noqa: E402
from workers.model_builder import build  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(workdir: Path, model: Path, interval: float, requests: int, pause: float) -> dict[str, float]:
    server = RedisServer(workdir).start()
    settings = {"model_name": model, "served_model_name": "bench", "log_dir": workdir / "logs"}
    worker = start_worker(workdir, server.url(), queue_poll_interval=interval, **settings)
    api = start_api(workdir, server.url(), api_keys=API_KEY, rate_limit_burst=1000, **settings)
    waits, round_trips = [], []
    try:
        for _ in range(requests):
            time.sleep(pause)
            sent = time.perf_counter()
            body = wait_for_final(api, submit(api, prompt="x", max_tokens=1, temperature=0))
            round_trips.append(time.perf_counter() - sent)
            waits.append(body["metrics"]["queue_wait_time"])
    finally:
        api.stop()
        worker.stop()
        server.stop()
    return {
        "wait_p50": statistics.median(waits),
        "wait_p95": percentile(waits, 0.95),
        "wait_max": max(waits),
        "client_p50": statistics.median(round_trips),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--pause", type=float, default=2.0, help="idle seconds before each request")
    parser.add_argument("--intervals", default="1.0,0.1", help="QUEUE_POLL_INTERVAL values, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0)
        intervals = [float(value) for value in args.intervals.split(",")]
        rows = [(interval, measure(workdir, model, interval, args.requests, args.pause)) for interval in intervals]
    print(f"\n{args.requests} sequential requests, max_tokens 1, {args.pause}s idle before each; client polls at 0.1 s")
    header = ["QUEUE_POLL_INTERVAL s", "queue wait p50 s", "p95 s", "max s", "client e2e p50 s"]
    print(f"{header[0]:>22} | {header[1]:>16} | {header[2]:>6} | {header[3]:>6} | {header[4]:>16}")
    print("-" * 80)
    for interval, row in rows:
        print(
            f"{interval:>22} | {row['wait_p50']:>16.3f} | {row['wait_p95']:>6.3f} | {row['wait_max']:>6.3f} | "
            f"{row['client_p50']:>16.3f}"
        )


if __name__ == "__main__":
    main()
