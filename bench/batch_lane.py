"""Interactive time to first token with and without a large Batch API batch running on the same worker.

Starts its own redis-server, one worker and the api on loopback with a random-weight model of a named
shape (downloads nothing), then measures the same interactive load (`--clients` clients, each submitting
and following /stream) three ways:

1. alone;
2. while a batch of `--lines` lines runs on the offline lane (the lines start only with room left);
3. while the same number of requests, submitted as ordinary /generate requests, wait in the interactive
   queue ahead of it (what a client without the Batch API would do).

Prints TTFT and end-to-end latency (p50, p95) per phase, and how many lines the batch finished meanwhile.

    .venv/bin/python bench/batch_lane.py [--shape gpt2-124m] [--clients 4] [--requests 40] [--lines 400]
                                         [--max-tokens 32] [--max-batch-size 8] [--offline-slots 8]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import one_request, percentile, prompt  # noqa: E402
from tests.support.stack import API_KEY, Api, RedisServer, start_api, start_worker, submit, wait_until  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402

MODEL = "bench"


def interactive(api: Api, clients: int, requests: int, max_tokens: int) -> dict[str, float]:
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda i: one_request(api, i, 16, max_tokens), range(requests)))
    ttft = [result[1] for result in results]
    e2e = [result[0] for result in results]
    return {
        "ttft_p50": statistics.median(ttft),
        "ttft_p95": percentile(ttft, 0.95),
        "e2e_p50": statistics.median(e2e),
        "e2e_p95": percentile(e2e, 0.95),
    }


def start_batch(client: openai.OpenAI, lines: int, max_tokens: int) -> str:
    body = {"model": MODEL, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True}
    text = "".join(
        json.dumps(
            {
                "custom_id": f"l{i}",
                "method": "POST",
                "url": "/v1/completions",
                "body": {**body, "prompt": prompt(i, 16)},
            }
        )
        + "\n"
        for i in range(lines)
    )
    file_id = client.files.create(file=("in.jsonl", io.BytesIO(text.encode())), purpose="batch").id
    return client.batches.create(input_file_id=file_id, endpoint="/v1/completions", completion_window="24h").id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-124m")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--lines", type=int, default=400)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--offline-slots", type=int, default=8)
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, float], str]] = []
    created = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0, shape=SHAPES[args.shape])
        server = RedisServer(workdir).start()
        settings = {
            "model_name": model,
            "served_model_name": MODEL,
            "log_dir": workdir / "logs",
            "max_batch_size": args.max_batch_size,
            "offline_slots": args.offline_slots,
            "task_time_limit": 3600,
            "log_level": "WARNING",
        }
        worker = start_worker(workdir, server.url(), **settings)
        limits = {"rate_limit_burst": 1_000_000, "rate_limit_per_minute": 1_000_000, "max_tokens_limit": 4096}
        api = start_api(workdir, server.url(), api_keys=API_KEY, batch_max_lines=100_000, **limits, **settings)
        client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=600)
        try:
            interactive(api, 1, 2, args.max_tokens)  # warm-up
            rows.append(("alone", interactive(api, args.clients, args.requests, args.max_tokens), "-"))

            created = time.perf_counter()
            batch_id = start_batch(client, args.lines, args.max_tokens)
            created = time.perf_counter() - created
            wait_until(lambda: client.batches.retrieve(batch_id).request_counts.completed > 0, 600, "the batch to run")
            before = client.batches.retrieve(batch_id).request_counts.completed
            started = time.perf_counter()
            during = interactive(api, args.clients, args.requests, args.max_tokens)
            done = client.batches.retrieve(batch_id).request_counts.completed - before
            rate = f"{done} lines in {time.perf_counter() - started:.1f} s"
            rows.append((f"with a {args.lines}-line batch (offline lane)", during, rate))
            client.batches.cancel(batch_id)
            wait_until(lambda: client.batches.retrieve(batch_id).status == "cancelled", 600, "the batch cancelled")

            flood = [
                submit(api, prompt=prompt(i, 16), max_tokens=args.max_tokens, temperature=0, ignore_eos=True)
                for i in range(args.lines)
            ]
            rows.append(
                (
                    f"behind {len(flood)} /generate requests",
                    interactive(api, args.clients, args.requests, args.max_tokens),
                    "-",
                )
            )
        finally:
            api.stop()
            worker.stop()
            server.stop()
    print(
        f"\n{args.shape}, {args.clients} interactive clients x {args.requests // args.clients} requests, "
        f"{args.max_tokens} new tokens, MAX_BATCH_SIZE {args.max_batch_size}, OFFLINE_SLOTS {args.offline_slots}, "
        f"{os.cpu_count()} CPU cores\n"
    )
    print(f"| {'interactive load':<40} | TTFT p50 | TTFT p95 | e2e p50 | e2e p95 | batch meanwhile |")
    print(f"|{'-' * 42}|---------:|---------:|--------:|--------:|-----------------|")
    for name, found, batch in rows:
        cells = " | ".join(f"{found[key]:.2f} s" for key in ("ttft_p50", "ttft_p95", "e2e_p50", "e2e_p95"))
        print(f"| {name:<40} | {cells} | {batch} |")
    print(
        f"\nUploading the {args.lines}-line file and creating its batch (every line checked, queued): {created:.2f} s"
    )


if __name__ == "__main__":
    main()
