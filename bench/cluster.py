"""The chart on the local one-node cluster (tests/cluster): how long the images take to build and import,
how big they are, and how fast an LLMModel scales from zero with real pods. Prints two tables. Needs root.

    .venv/bin/python bench/cluster.py [--runs 3] [--requests 10] [--replicas 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from tests.cluster.cluster import LocalCluster  # noqa: E402
from tests.cluster.scenarios import ScaleFromZero, scale_from_zero  # noqa: E402
from tests.support.stack import Api  # noqa: E402
from workers.model_builder import build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llm-bench-cluster-") as folder:
        cluster = LocalCluster(Path(folder))
        try:
            cluster.start()
            installed = time.monotonic()
            cluster.install(build(Path(folder) / "model", seed=0))
            cluster.wait_all_ready()
            ready = time.monotonic() - installed
            print_images(cluster, ready)
            api = Api(None, cluster.api_url())
            key = cluster.api_key()
            runs = [scale_from_zero(cluster, api, key, args.requests, args.replicas, 10) for _ in range(args.runs)]
            print_scaling(runs, args.requests, args.replicas)
        finally:
            cluster.stop()


def print_images(cluster: LocalCluster, ready: float) -> None:
    print("| image | size (MiB) | build + import (s; 0: cached) |\n|---|---:|---:|")
    for name, size in cluster.images.sizes.items():
        print(f"| {name} | {size / 2**20:,.0f} | {cluster.images.seconds[name]} |")
    start = cluster.timings["cluster start (images included)"]
    print(f"\ncluster start (images included): {start} s; helm install to every pod Ready: {ready:.1f} s\n")


def print_scaling(runs: list[ScaleFromZero], requests: int, replicas: int) -> None:
    print(f"| scale from zero, {requests} requests, {replicas} pods | median (s) | min | max |\n|---|---:|---:|---:|")
    for label, values in (
        ("first request to first pod Ready", [r.first_ready for r in runs]),
        ("first request to queue drained", [r.drained for r in runs]),
        ("drained to no pods (scaleDownDelaySeconds 10)", [r.gone for r in runs]),
    ):
        print(f"| {label} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")
    print(f"\nevery request completed: {all(r.statuses == ['completed'] * requests for r in runs)}")
    print(runs[-1].pods_at_scale)


if __name__ == "__main__":
    main()
