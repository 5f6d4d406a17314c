"""Load test of the whole stack over HTTP (submit, then follow SSE), against in-process reference rows.

Builds a random-weight model of a named shape (downloads nothing), measures the same model's
`generate` in-process (one batch at once: the ceiling; one request at a time: the naive design), then
starts its own redis-server, one worker and the api on loopback and drives them at each concurrency.
Prints one table. Bounded: a fixed number of requests per level.

    .venv/bin/python bench/load.py [--shape gpt2-124m] [--concurrency 1,8,32,64] [--prompt-tokens 32]
                                   [--max-tokens 64] [--requests-per-client 2] [--stream-interval S]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.stack import API_KEY, Api, RedisServer, children_of, start_api, start_worker, submit  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    concurrency: int
    requests_per_s: float
    tokens_per_s: float
    p50_s: float | None = None
    p95_s: float | None = None
    ttft_p50_s: float | None = None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def prompt(index: int, tokens: int) -> str:
    return "".join(chr(97 + (index * 7 + position) % 26) for position in range(tokens))  # one byte, one token


def in_process_rows(model_dir: Path, batch: int, prompt_tokens: int, max_tokens: int) -> list[Row]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    options = {
        "max_new_tokens": max_tokens,
        "min_new_tokens": max_tokens,
        "do_sample": False,
        "pad_token_id": tokenizer.eos_token_id,
    }

    def run(prompts: list[str]) -> float:
        inputs = tokenizer(prompts, return_tensors="pt")
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, **options)
        return time.perf_counter() - started

    run([prompt(0, prompt_tokens)])  # warm-up
    batched = run([prompt(index, prompt_tokens) for index in range(batch)])
    singles = [run([prompt(index, prompt_tokens)]) for index in range(3)]
    return [
        Row(f"in-process generate, batch {batch} (ceiling)", batch, batch / batched, batch * max_tokens / batched),
        Row(
            "in-process generate, one at a time (naive)",
            1,
            1 / statistics.mean(singles),
            max_tokens / statistics.mean(singles),
            statistics.median(singles),
            max(singles),
        ),
    ]


def one_request(api: Api, index: int, prompt_tokens: int, max_tokens: int) -> tuple[float, float, int]:
    """(end-to-end seconds, time to first token, completion tokens) for one request, submit to final event."""
    started = time.perf_counter()
    task_id = submit(api, prompt=prompt(index, prompt_tokens), max_tokens=max_tokens, temperature=0)
    first: float | None = None
    with requests.get(api.url(f"/stream/{task_id}"), headers={"X-API-Key": API_KEY}, stream=True, timeout=600) as r:
        for line in r.iter_lines(decode_unicode=True):
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if first is None and event.get("delta"):
                first = time.perf_counter() - started
            if event["status"] == "completed":
                return time.perf_counter() - started, first or 0.0, event["metrics"]["completion_tokens"]
            if event["status"] == "failed":
                raise RuntimeError(f"task failed: {event}")
    raise RuntimeError("stream ended without a final event")


def stack_row(api: Api, concurrency: int, total: int, prompt_tokens: int, max_tokens: int) -> Row:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda i: one_request(api, i, prompt_tokens, max_tokens), range(total)))
    wall = time.perf_counter() - started
    latencies = [result[0] for result in results]
    return Row(
        "full stack over HTTP (SSE)",
        concurrency,
        total / wall,
        sum(result[2] for result in results) / wall,
        statistics.median(latencies),
        percentile(latencies, 0.95),
        statistics.median(result[1] for result in results),
    )


def print_table(rows: list[Row], title: str) -> None:
    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    print(f"\n{title}\n")
    print("| what | concurrency | requests/s | generated tokens/s | p50 e2e s | p95 e2e s | p50 TTFT s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.concurrency} | {row.requests_per_s:.2f} | {row.tokens_per_s:.1f} | "
            f"{cell(row.p50_s)} | {cell(row.p95_s)} | {cell(row.ttft_p50_s)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-124m")
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--stream-interval", type=float, help="the worker's STREAM_INTERVAL (default: its own)")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0, shape=SHAPES[args.shape])
        rows = in_process_rows(model, min(32, max(levels)), args.prompt_tokens, args.max_tokens)
        server = RedisServer(workdir).start()
        settings = {
            "model_name": model,
            "served_model_name": "bench",
            "log_dir": workdir / "logs",
            "max_batch_size": max(levels),
            "task_time_limit": 600,
            "log_level": "WARNING",
        }
        if args.stream_interval is not None:
            settings["stream_interval"] = args.stream_interval
        worker = start_worker(workdir, server.url(), **settings)
        api = start_api(
            workdir,
            server.url(),
            api_keys=API_KEY,
            rate_limit_burst=100_000,
            rate_limit_per_minute=1_000_000,
            **settings,
        )
        try:
            stack_row(api, 1, 1, args.prompt_tokens, args.max_tokens)  # warm-up
            for level in levels:
                total = max(level * args.requests_per_client, 4)
                rows.append(stack_row(api, level, total, args.prompt_tokens, args.max_tokens))
            memory = worker_memory(worker.pid, model)
        finally:
            api.stop()
            worker.stop()
            server.stop()
    print_table(
        rows,
        f"{args.shape}, {args.prompt_tokens}-token prompts, {args.max_tokens} new tokens, greedy, "
        f"{os.cpu_count()} CPU cores",
    )
    print(f"\n{memory}")


def worker_memory(pid: int, model: Path) -> str:
    """The worker process's resident memory after the run (and its peak), against the weights' size."""

    def status(child: int) -> dict[str, int]:
        lines = Path(f"/proc/{child}/status").read_text().splitlines()
        return {key: int(value.split()[0]) for key, value in (line.split(":", 1) for line in lines) if "kB" in value}

    # Dramatiq's main process forks the worker process (and a metrics server): the largest is the worker.
    found = max((status(child) for child in children_of(pid)), key=lambda entry: entry["VmRSS"])
    weights = sum(path.stat().st_size for path in model.glob("*.safetensors")) / 2**20
    return (
        f"worker resident memory: {found['VmRSS'] / 1024:.0f} MiB after the run, {found['VmHWM'] / 1024:.0f} MiB "
        f"at peak; weights {weights:.0f} MiB"
    )


if __name__ == "__main__":
    main()
