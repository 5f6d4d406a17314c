"""Prefix caching off and on, in-process (no Redis, no HTTP): a chat workload whose requests share a long
system prompt, on the batch engine (its prefix cache) or the paged one (transformers' block sharing).

Builds a random-weight model of a named shape (downloads nothing). Each request is the system prompt, a
user turn of its own and `--max-tokens` new tokens (end of sequence ignored, so every request generates
them all). Prints time to first token at concurrency 1, generated tokens/s at concurrency `--concurrency`,
and the prefix cache hit rate of each run (cached prompt tokens / prompt tokens; the paged engine does not
tell its own).

    .venv/bin/python bench/prefix.py [--engine batch|paged] [--shape gpt2-124m] [--system-tokens 768]
                                     [--user-tokens 32] [--max-tokens 64] [--requests 12] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.engine.factory import create_engine  # noqa: E402
from workers.engine.types import Engine, EngineRequest, Sampling  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402


class Workload:
    def __init__(self, vocab: int, system_tokens: int, user_tokens: int, max_tokens: int) -> None:
        draw = random.Random(0)
        self.system = [draw.randrange(1, vocab) for _ in range(system_tokens)]
        self.draw, self.vocab, self.user_tokens, self.max_tokens = draw, vocab, user_tokens, max_tokens

    def request(self) -> EngineRequest:
        user = [self.draw.randrange(1, self.vocab) for _ in range(self.user_tokens)]
        greedy = Sampling(temperature=0.0, ignore_eos=True)
        return EngineRequest(self.system + user, self.max_tokens, time.monotonic() + 3600, greedy)


def finish(request: EngineRequest, submitted: float) -> tuple[float, int]:
    """(time to first token, tokens generated) once the request ends."""
    first, generated = 0.0, 0
    while True:
        event = request.events.get()
        if event.error is not None:
            raise event.error
        if event.token is not None:
            generated += 1
            first = first or time.perf_counter() - submitted
        if event.finish_reason is not None:
            return first, generated


def one_at_a_time(engine: Engine, workload: Workload, count: int) -> tuple[list[float], int, int]:
    """Times to first token, and prompt and cached tokens, of `count` requests sent one after another."""
    firsts, prompt, cached = [], 0, 0
    for _ in range(count):
        request = workload.request()
        started = time.perf_counter()
        engine.submit(request)
        firsts.append(finish(request, started)[0])
        prompt, cached = prompt + len(request.prompt_ids), cached + (request.cached_tokens or 0)
    return firsts, prompt, cached


def clients(engine: Engine, workload: Workload, concurrency: int, count: int) -> tuple[float, int, int, int]:
    """Seconds, tokens generated, prompt and cached tokens for `count` requests from `concurrency` clients,
    each sending its next request when the last one ends."""
    lock, totals = threading.Lock(), [0, 0, 0, 0]  # started, generated, prompt, cached

    def client() -> None:
        while True:
            with lock:
                if totals[0] >= count:
                    return
                totals[0] += 1
                request = workload.request()
            engine.submit(request)
            generated = finish(request, time.perf_counter())[1]
            with lock:
                totals[1] += generated
                totals[2] += len(request.prompt_ids)
                totals[3] += request.cached_tokens or 0

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, totals[1], totals[2], totals[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["batch", "paged"], default="batch")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-124m")
    parser.add_argument("--system-tokens", type=int, default=768)
    parser.add_argument("--user-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=12, help="per run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cache-bytes", type=int, default=1024**3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        from transformers import AutoModelForCausalLM

        model_dir = build(Path(folder) / args.shape, shape=SHAPES[args.shape])
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        rows = []
        for label, cache_bytes in (("off", 0), ("on", args.cache_bytes)):
            engine = create_engine(args.engine, model, set(), args.concurrency, 0.8, cache_bytes)
            engine.start()
            workload = Workload(model.config.vocab_size, args.system_tokens, args.user_tokens, args.max_tokens)
            warm = EngineRequest([1, 2, 3], 4, time.monotonic() + 3600, Sampling(temperature=0.0, ignore_eos=True))
            engine.submit(warm)  # torch's first-call costs, outside the figures
            finish(warm, time.perf_counter())
            firsts, prompt_1, cached_1 = one_at_a_time(engine, workload, args.requests)
            seconds, generated, prompt_n, cached_n = clients(engine, workload, args.concurrency, args.requests * 2)
            engine.stop()
            rows.append((label, firsts, prompt_1, cached_1, seconds, generated, prompt_n, cached_n))
    print(
        f"\n{args.engine} engine, {args.shape}, system prompt {args.system_tokens} tokens, "
        f"user turn {args.user_tokens}, "
        f"{args.max_tokens} new tokens; {args.requests} requests at concurrency 1, {args.requests * 2} at "
        f"{args.concurrency}\n"
    )
    print(
        "| prefix cache | TTFT p50, concurrency 1 | hit rate | generated tokens/s, concurrency "
        f"{args.concurrency} | hit rate |"
    )
    print("|---|---:|---:|---:|---:|")

    def rate(cached: int, prompt: int) -> str:
        return f"{cached / prompt:.0%}" if args.engine == "batch" else "-"  # the paged engine does not tell

    for label, firsts, prompt_1, cached_1, seconds, generated, prompt_n, cached_n in rows:
        print(
            f"| {label} | {statistics.median(firsts) * 1000:.0f} ms | {rate(cached_1, prompt_1)} | "
            f"{generated / seconds:.1f} | {rate(cached_n, prompt_n)} |"
        )


if __name__ == "__main__":
    main()
