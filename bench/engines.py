"""The two batching engines side by side, in-process (no Redis, no HTTP): which one ENGINE=auto should pick.

Builds a random-weight model of a named shape (downloads nothing), then runs the same greedy requests
through BatchEngine and PagedEngine at each concurrency and prints one table.

    .venv/bin/python bench/engines.py [--shape gpt2-124m] [--concurrency 1,32] [--prompt-tokens 32]
                                      [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.backends.transformers import TransformersBackend  # noqa: E402
from workers.engine.types import EngineRequest, Sampling  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402


def run(engine: object, concurrency: int, prompt_tokens: int, max_tokens: int) -> tuple[float, int]:
    """Seconds for `concurrency` requests submitted at once, and the tokens they generated."""
    requests = [
        EngineRequest(
            [97 + (index * 7 + position) % 26 for position in range(prompt_tokens)],
            max_tokens,
            time.monotonic() + 3600,
            Sampling(temperature=0.0),
        )
        for index in range(concurrency)
    ]
    started = time.perf_counter()
    for request in requests:
        engine.submit(request)  # type: ignore[attr-defined]
    generated = 0
    for request in requests:
        while True:
            event = request.events.get()
            generated += event.token is not None
            if event.error is not None:
                raise event.error
            if event.finish_reason is not None:
                break
    return time.perf_counter() - started, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-124m")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build(Path(folder) / args.shape, shape=SHAPES[args.shape])
        print("| engine | concurrency | generated tokens/s | seconds |\n|---|---:|---:|---:|")
        for kind in ("batch", "paged"):
            backend = TransformersBackend(str(model_dir), max_batch_size=max(levels), engine=kind)  # type: ignore[arg-type]
            backend.load()
            run(backend.engine, 1, args.prompt_tokens, 4)  # warm-up
            for level in levels:
                seconds, tokens = run(backend.engine, level, args.prompt_tokens, args.max_tokens)
                print(f"| {kind} | {level} | {tokens / seconds:.1f} | {seconds:.2f} |", flush=True)
            backend.engine.stop()


if __name__ == "__main__":
    main()
