"""Sharing one worker between tenants: fair queueing (FAIR_QUEUEING=true, the default) against first come,
first served (false), in the same run, on the same worker and Redis.

Starts its own redis-server, one worker and two apis (one per mode) on loopback with a random-weight model
of a named shape (downloads nothing); declares tenants A and B in Redis as the operator would, then:

1. backlog: A submits `--flood` requests of `--flood-tokens` tokens, then B one of 32 tokens; B's wait in
   the queue against the time one of A's requests takes to run (a slot turning over);
2. share: A and B both keep a backlog for `--seconds`; each one's share of the tokens generated, with equal
   weights, then weights 2:1;
3. alone: A's backlog by itself, generated tokens per second.

    .venv/bin/python bench/fairness.py [--shape tiny] [--max-batch-size 4] [--flood 120] [--flood-tokens 256]
                                       [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import prompt  # noqa: E402
from contract import model_registry, tenants  # noqa: E402
from contract.queue_depth import waiting_requests  # noqa: E402
from contract.task_store import TaskStore  # noqa: E402
from contract.tenants import Tenant  # noqa: E402
from tests.support.stack import Api, RedisServer, start_api, start_worker, submit, wait_until  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402

MODEL = "bench"
KEYS = {"A": "tenant-a-key", "B": "tenant-b-key"}


def declare(db: redis.Redis, weights: dict[str, float]) -> None:
    for name, key in KEYS.items():
        tenant = Tenant(name=name, resource=f"bench/{name}", key_digests=[model_registry.digest(key)])
        tenants.publish(db, replace(tenant, weight=weights[name]))
    time.sleep(2.5)  # the apis read tenants every 2 s


def flood(api: Api, tenant: str, count: int, tokens: int) -> list[str]:
    body = {"max_tokens": tokens, "temperature": 0, "ignore_eos": True}
    return [submit(api, KEYS[tenant], prompt=prompt(i, 16), **body) for i in range(count)]


def drain(db: redis.Redis, store: TaskStore, task_ids: list[str]) -> None:
    """Every task cancelled, then waited for: the next measurement starts on an idle worker."""
    for task_id in task_ids:
        store.request_cancel(task_id)
    wait_until(lambda: waiting_requests(db, MODEL) == 0, 600, "the queue to drain")
    wait_until(lambda: all(store.get(task_id).is_final for task_id in task_ids), 600, "every task to end")  # type: ignore[union-attr]


def backlog(api: Api, db: redis.Redis, store: TaskStore, count: int, tokens: int) -> tuple[float, float]:
    """(B's wait in the queue, the median time one of A's requests ran), in seconds."""
    mine = flood(api, "A", count, tokens)
    time.sleep(0.2)  # A's first requests are running
    theirs = submit(api, KEYS["B"], prompt=prompt(0, 16), max_tokens=32, temperature=0, ignore_eos=True)
    wait_until(lambda: store.get(theirs).is_final, 900, "B's request")  # type: ignore[union-attr]
    waited = store.get(theirs).metrics["queue_wait_time"]  # type: ignore[union-attr]
    wait_until(lambda: all(store.get(task_id).is_final for task_id in mine[:8]), 900, "A's first requests")  # type: ignore[union-attr]
    ran = [store.get(task_id).metrics["processing_time"] for task_id in mine[:8]]  # type: ignore[union-attr]
    drain(db, store, mine)
    return waited, statistics.median(ran)


def share(api: Api, db: redis.Redis, store: TaskStore, seconds: float, tokens: int, rate: float) -> dict[str, int]:
    """Tokens generated for each tenant over `seconds`, both keeping a backlog the whole time (each submits
    what the worker, at `rate` tokens/s, could not finish in that time alone)."""
    per_tenant = max(8, int(rate * seconds / tokens))
    ids = {name: [] for name in KEYS}  # type: dict[str, list[str]]
    for _ in range(per_tenant // 8):
        for name in KEYS:
            ids[name] += flood(api, name, 8, tokens)
    start = time.time()
    time.sleep(seconds)
    end = time.time()
    generated = {}
    for name, task_ids in ids.items():
        records = [store.get(task_id) for task_id in task_ids]
        generated[name] = sum(
            record.metrics.get("completion_tokens", 0)
            for record in records
            if record is not None and record.finished_at is not None and start <= record.finished_at <= end
        )
    drain(db, store, ids["A"] + ids["B"])
    return generated


def alone(api: Api, db: redis.Redis, store: TaskStore, count: int, tokens: int) -> float:
    started = time.perf_counter()
    mine = flood(api, "A", count, tokens)
    wait_until(lambda: all(store.get(task_id).is_final for task_id in mine), 1800, "A's backlog")  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    return sum(store.get(task_id).metrics["completion_tokens"] for task_id in mine) / elapsed  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--max-batch-size", type=int, default=4)
    parser.add_argument("--flood", type=int, default=120)
    parser.add_argument("--flood-tokens", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0, shape=SHAPES[args.shape])
        server = RedisServer(workdir).start()
        db = redis.Redis.from_url(server.url(), decode_responses=True)
        store = TaskStore(db, 3600)
        settings = {
            "model_name": model,
            "served_model_name": MODEL,
            "log_dir": workdir / "logs",
            "max_batch_size": args.max_batch_size,
            "task_time_limit": 3600,
            "log_level": "WARNING",
        }
        limits = {"rate_limit_burst": 1_000_000, "rate_limit_per_minute": 1_000_000, "max_tokens_limit": 4096}
        worker = start_worker(workdir, server.url(), **settings)
        apis = {
            mode: start_api(workdir, server.url(), api_keys="unused", fair_queueing=mode, **limits, **settings)
            for mode in (True, False)
        }
        try:
            declare(db, {"A": 1.0, "B": 1.0})
            warm = flood(apis[True], "A", 4, 8)
            wait_until(lambda: all(store.get(task_id).is_final for task_id in warm), 300, "the warm-up")  # type: ignore[union-attr]
            results = {}
            for fair, api in apis.items():
                rate = alone(api, db, store, args.flood, args.flood_tokens)
                results[fair] = {
                    "alone": rate,
                    "backlog": backlog(api, db, store, args.flood, args.flood_tokens),
                    "equal": share(api, db, store, args.seconds, args.flood_tokens, rate),
                }
            declare(db, {"A": 2.0, "B": 1.0})
            weighted = share(apis[True], db, store, args.seconds, args.flood_tokens, results[True]["alone"])
        finally:
            for api in apis.values():
                api.stop()
            worker.stop()
            server.stop()
    report(args, results, weighted)


def report(args: argparse.Namespace, results: dict[bool, dict[str, object]], weighted: dict[str, int]) -> None:
    print(
        f"\n{args.shape}, MAX_BATCH_SIZE {args.max_batch_size}, A's backlog {args.flood} x {args.flood_tokens} "
        f"tokens, B 32 tokens, shares over {args.seconds:.0f} s, {os.cpu_count()} CPU cores\n"
    )
    print("| measure | fair queueing | first come, first served |")
    print("|---|---:|---:|")
    waits = {fair: results[fair]["backlog"] for fair in results}
    print(f"| B's first request: wait in queue (s) | {waits[True][0]:.2f} | {waits[False][0]:.2f} |")  # type: ignore[index]
    print(f"| one of A's requests: run time, p50 (s) | {waits[True][1]:.2f} | {waits[False][1]:.2f} |")  # type: ignore[index]
    for fair in (True, False):
        equal = results[fair]["equal"]
        total = sum(equal.values()) or 1  # type: ignore[attr-defined]
        results[fair]["share"] = f"{100 * equal['A'] / total:.0f} / {100 * equal['B'] / total:.0f} %"  # type: ignore[index]
    print(f"| equal weights: A / B share of generated tokens | {results[True]['share']} | {results[False]['share']} |")
    total = sum(weighted.values()) or 1
    print(f"| weights 2:1: A / B share | {100 * weighted['A'] / total:.0f} / {100 * weighted['B'] / total:.0f} % | - |")
    print(f"| A alone: generated tokens/s | {results[True]['alone']:.0f} | {results[False]['alone']:.0f} |")


if __name__ == "__main__":
    main()
