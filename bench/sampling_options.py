"""What vLLM's sampling and output options cost on the batch engine, in-process (no Redis, no HTTP).

Builds a random-weight model of a named shape (downloads nothing), then runs the same batch of requests
through TransformersBackend once per option set (all requests in a batch ask for it) and prints one table:
tokens per second, and each set's cost against plain sampling.

    .venv/bin/python bench/sampling_options.py [--shape gpt2-124m] [--concurrency 16] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract.task_params import TaskParams  # noqa: E402
from workers.backends.base import GenerationRequest  # noqa: E402
from workers.backends.transformers import TransformersBackend  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "tags"],
}
OPTION_SETS: dict[str, dict[str, Any]] = {
    "plain": {},
    "top_k 50 + min_p 0.05": {"top_k": 50, "min_p": 0.05},
    "logit_bias (3 tokens)": {"logit_bias": {10: 2.0, 11: -2.0, 12: 1.0}},
    "penalties (rep, presence, freq)": {"repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": 0.5},
    "logprobs 5": {"logprobs": 5},
    "logprobs 20 + prompt logprobs": {"logprobs": 20, "prompt_logprobs": 5},
    "json_schema": {"json_schema": SCHEMA},
}


def run(backend: TransformersBackend, options: dict[str, Any], concurrency: int, max_tokens: int) -> tuple[float, int]:
    """Seconds for `concurrency` requests at once, and the tokens they generated."""

    def one(index: int) -> int:
        params = TaskParams(
            prompt=f"Request {index}: tell me something about the number {index}.",
            max_tokens=max_tokens,
            temperature=0.8,
            top_p=0.95,
            seed=index,
            ignore_eos="json_schema" not in options,
            **options,
        )
        return backend.generate(GenerationRequest("bench", params, time.monotonic() + 3600)).completion_tokens

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        generated = sum(pool.map(one, range(concurrency)))
    return time.perf_counter() - started, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-124m")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build(Path(folder) / args.shape, shape=SHAPES[args.shape])
        backend = TransformersBackend(str(model_dir), "bench", max_batch_size=args.concurrency, engine="batch")
        backend.load()
        run(backend, {}, args.concurrency, 4)  # warm-up
        print(f"{args.shape}, {args.concurrency} concurrent requests, {args.max_tokens} tokens each, batch engine")
        print(f"{'options':34} {'seconds':>8} {'tokens':>7} {'tokens/s':>9} {'vs plain':>9}")
        baseline = None
        for name, options in OPTION_SETS.items():
            seconds, tokens = run(backend, options, args.concurrency, args.max_tokens)
            rate = tokens / seconds
            baseline = baseline or rate
            print(f"{name:34} {seconds:8.2f} {tokens:7d} {rate:9.1f} {rate / baseline - 1:+9.0%}")
        assert backend.engine is not None
        backend.engine.stop()


if __name__ == "__main__":
    main()
