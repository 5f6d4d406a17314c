"""Redis Sentinel failover under load, on loopback: a primary, two replicas and three Sentinels (real
processes), a worker and the api through the Sentinels; clients submit while the worker generates, then
the primary gets SIGKILL. Prints, for REDIS_WAIT_REPLICAS 0 and 1: time until the Sentinels name a new
primary, time until the first 202 after the kill, what clients got, and how every accepted task ended.

    .venv/bin/python bench/failover.py [--runs 3] [--clients 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.failover import Outcome, run_failover  # noqa: E402
from tests.support.sentinel import SentinelCluster  # noqa: E402
from tests.support.stack import API_KEY, start_api, start_worker  # noqa: E402
from workers.model_builder import build  # noqa: E402


def one_run(workdir: Path, model: Path, wait_replicas: int, clients: int) -> Outcome:
    cluster = SentinelCluster(workdir).start()
    settings = {"model_name": model, "served_model_name": "tiny", "log_dir": workdir / "logs"}
    worker = start_worker(workdir, cluster.url(), **settings)
    api = start_api(
        workdir,
        cluster.url(),
        api_keys=API_KEY,
        redis_wait_replicas=wait_replicas,
        rate_limit_per_minute=1_000_000,
        rate_limit_burst=100_000,
        **settings,
    )
    try:
        return run_failover(api, cluster, clients=clients)
    finally:
        api.stop()
        worker.stop()
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="failover-bench-"))
    model = build(root / "model", seed=0)
    print(
        "| REDIS_WAIT_REPLICAS | run | new primary after (s) | first 202 after (s) | 202 | 503 | other "
        "| completed | failed | lost |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for wait_replicas in (0, 1):
        times = []
        for run in range(1, args.runs + 1):
            found = one_run(Path(tempfile.mkdtemp(dir=root)), model, wait_replicas, args.clients)
            times.append(found.first_accept_seconds)
            print(
                f"| {wait_replicas} | {run} | {found.failover_seconds:.2f} | {found.first_accept_seconds:.2f} "
                f"| {len(found.accepted)} | {found.refused} | {len(found.unexpected)} | {found.count('completed')} "
                f"| {found.count('failed')} | {found.count('lost')} |",
                flush=True,
            )
        print(f"median first 202 after the kill, REDIS_WAIT_REPLICAS={wait_replicas}: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
