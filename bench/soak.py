"""Soak and overload, on loopback, bounded in time: does the stack stay up, flat in memory, and shed load
cleanly?

1. Soak: `--minutes` (default 10) at concurrency `--concurrency` (default 32), every client submitting then
   following /stream. Reports errors, requests, latency in the first and last minute, and the resident
   memory of the api (Gunicorn master and workers) and of the worker at start and end. For long soaks
   (`--minutes 120`), each process's memory (`--memory anon`: RssAnon, what its heap holds, by default;
   `rss`: VmRSS, file-backed pages too) is also sampled every `--sample-seconds` (60) and its growth
   fitted by least squares after `--warmup-minutes` (5): the slope in KB per 1,000 requests, with its
   standard error.
2. Overload: `--overload-clients` (default 4x the soak concurrency) clients submitting as fast as they can
   for `--overload-seconds`, against a queue bound (MAX_QUEUE_LENGTH) and the rate limit: counts of
   202 / 429 / 503 / other, whether every accepted task completed, and the accepted tasks' latency.

    .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 32] [--shape tiny] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import one_request, percentile  # noqa: E402
from tests.support.stack import API_KEY, RedisServer, children_of, start_api, start_worker, wait_for_final  # noqa: E402
from workers.model_builder import SHAPES, build  # noqa: E402


def resident_mib(pid: int) -> float:
    """The process and all its descendants, in MiB."""
    pids, total = [pid], 0
    while pids:
        current = pids.pop()
        pids.extend(children_of(current))
        for line in Path(f"/proc/{current}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


MEMORY_FIELDS = {"anon": "RssAnon:", "rss": "VmRSS:"}


def process_rss_kib(pid: int, field: str = "VmRSS:") -> float:
    """One of the process's memory figures in /proc/<pid>/status, in KiB. RssAnon is what its heap and stacks
    hold; VmRSS adds file-backed pages (shared libraries), which the kernel may drop and read back at any time."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return float(line.split()[1])
    return 0.0


class MemorySampler:
    """Every `interval` seconds: requests finished so far and each process's own resident memory (the api's
    Gunicorn master and each of its workers, the worker and its children), until stopped."""

    def __init__(
        self, processes: dict[str, int], finished: list[tuple[float, float]], interval: float, field: str
    ) -> None:
        self.processes = processes
        self.finished = finished
        self.interval = interval
        self.field = field
        self.samples: list[tuple[float, int, dict[str, float]]] = []  # (seconds, requests, KiB by process)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> MemorySampler:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        while True:
            by_process = {}
            for name, pid in self.processes.items():
                by_process[name] = process_rss_kib(pid, self.field)
                for index, child in enumerate(sorted(children_of(pid))):
                    by_process[f"{name} child {index + 1}"] = process_rss_kib(child, self.field)
            self.samples.append((time.monotonic() - self.started, len(self.finished), by_process))
            if self.stopped.wait(self.interval):
                return

    def slopes(self, warmup_seconds: float) -> dict[str, tuple[float, float]]:
        """Per process, least squares over the samples after warm-up: (KB per 1,000 requests, its standard
        error), so that a slope within about two standard errors of zero is no growth at all."""
        kept = [sample for sample in self.samples if sample[0] >= warmup_seconds]
        names = sorted({name for _, _, found in kept for name in found})
        return {name: fit([(r / 1000, f[name]) for _, r, f in kept if name in f]) for name in names}


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Slope of y on x by least squares, and its standard error."""
    if len(points) < 3:
        return float("nan"), float("nan")
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    residual = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in points)
    return slope, (residual / (len(points) - 2) / sxx) ** 0.5


def soak(
    api: object, concurrency: int, seconds: float, max_tokens: int, finished: list[tuple[float, float]]
) -> dict[str, object]:
    """`finished` gets (time finished, latency) for each request as it ends."""
    errors: collections.Counter[str] = collections.Counter()
    end = time.monotonic() + seconds

    def client(index: int) -> None:
        count = 0
        while time.monotonic() < end:
            try:
                latency, _, _ = one_request(api, index * 100_000 + count, 16, max_tokens)  # type: ignore[arg-type]
                finished.append((time.monotonic(), latency))
            except Exception as error:  # counted and reported, the soak goes on
                errors[type(error).__name__] += 1
            count += 1

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    first = [lat for at, lat in finished if at - started <= 60]
    last = [lat for at, lat in finished if at >= started + seconds - 60]
    return {"requests": len(finished), "errors": dict(errors), "first": first, "last": last}


def overload(api: object, clients: int, seconds: float) -> dict[str, object]:
    codes: collections.Counter[int] = collections.Counter()
    accepted: list[tuple[str, float]] = []
    end = time.monotonic() + seconds
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        while time.monotonic() < end:
            try:
                response = session.post(
                    api.url("/generate"),
                    headers={"X-API-Key": API_KEY},  # type: ignore[attr-defined]
                    json={"prompt": "overload", "max_tokens": 8},
                    timeout=30,
                )
            except requests.RequestException:
                codes[0] += 1
                continue
            with lock:
                codes[response.status_code] += 1
                if response.status_code == 202:
                    accepted.append((response.json()["task_id"], time.time()))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finals = [wait_for_final(api, task_id, timeout=600) for task_id, _ in accepted]  # type: ignore[arg-type]
    completed = [final for final in finals if final["status"] == "completed"]
    latencies = [final["metrics"]["total_time"] for final in completed]
    return {"codes": dict(codes), "accepted": len(accepted), "completed": len(completed), "latencies": latencies}


def describe(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s" if values else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--overload-clients", type=int)
    parser.add_argument("--overload-seconds", type=float, default=30)
    parser.add_argument("--sample-seconds", type=float, default=60, help="how often memory is sampled")
    parser.add_argument(
        "--memory", choices=sorted(MEMORY_FIELDS), default="anon", help="sampled: anonymous (heap) or all resident"
    )
    parser.add_argument("--warmup-minutes", type=float, default=5, help="samples left out of the slopes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0, shape=SHAPES[args.shape])
        server = RedisServer(workdir).start()
        settings = {
            "model_name": model,
            "served_model_name": "soak",
            "log_dir": workdir / "logs",
            "max_batch_size": args.concurrency,
            "log_level": "WARNING",
            "max_queue_length": 200,
        }
        worker = start_worker(workdir, server.url(), **settings)
        api = start_api(
            workdir, server.url(), api_keys=API_KEY, rate_limit_per_minute=30_000, rate_limit_burst=2_000, **settings
        )
        try:
            one_request(api, 0, 16, args.max_tokens)  # warm-up
            memory_start = (resident_mib(api.process.pid), resident_mib(worker.pid))
            finished: list[tuple[float, float]] = []
            processes = {"api": api.process.pid, "worker": worker.pid}  # type: ignore[union-attr]
            field = MEMORY_FIELDS[args.memory]
            sampler = MemorySampler(processes, finished, args.sample_seconds, field).start()
            soaked = soak(api, args.concurrency, args.minutes * 60, args.max_tokens, finished)
            sampler.stop()
            memory_end = (resident_mib(api.process.pid), resident_mib(worker.pid))
            loaded = overload(api, args.overload_clients or 4 * args.concurrency, args.overload_seconds)
        finally:
            api.stop()
            worker.stop()
            server.stop()
    print(
        f"\nSoak: {args.minutes:g} min at concurrency {args.concurrency}, {args.shape} model, {args.max_tokens} "
        f"tokens per request, MAX_BATCH_SIZE {args.concurrency}\n"
    )
    print(
        "| requests | errors | latency, first minute | latency, last minute | api RSS start -> end | "
        "worker RSS start -> end |\n|---:|---|---|---|---|---|"
    )
    print(
        f"| {soaked['requests']} | {soaked['errors'] or 0} | {describe(soaked['first'])} | "  # type: ignore[arg-type]
        f"{describe(soaked['last'])} | {memory_start[0]:.0f} -> {memory_end[0]:.0f} MiB | "  # type: ignore[arg-type]
        f"{memory_start[1]:.0f} -> {memory_end[1]:.0f} MiB |"
    )
    print_memory(sampler, args.warmup_minutes * 60)
    print(
        f"\nOverload: {args.overload_clients or 4 * args.concurrency} clients submitting without pause for "
        f"{args.overload_seconds:g} s (MAX_QUEUE_LENGTH 200, rate limit 30,000/min, bursts of 2,000)\n"
    )
    print("| responses by status | accepted | accepted that completed | latency of accepted |\n|---|---:|---:|---|")
    print(f"| {loaded['codes']} | {loaded['accepted']} | {loaded['completed']} | {describe(loaded['latencies'])} |")  # type: ignore[arg-type]


def print_memory(sampler: MemorySampler, warmup_seconds: float) -> None:
    names = sorted({name for _, _, found in sampler.samples for name in found})
    print(f"\n{sampler.field.rstrip(':')} (MiB), sampled every {sampler.interval:g} s\n")
    print("| minute | requests | " + " | ".join(names) + " |\n|---:|---:|" + "---:|" * len(names))
    for seconds, requests_done, found in sampler.samples:
        memory = " | ".join(f"{found[name] / 1024:.1f}" if name in found else "" for name in names)
        print(f"| {seconds / 60:.1f} | {requests_done} | {memory} |")
    print(f"\nSlope after {warmup_seconds / 60:g} min of warm-up (least squares, KB per 1,000 requests ± 1 s.e.)\n")
    print("| process | KB per 1,000 requests |\n|---|---:|")
    for name, (slope, error) in sampler.slopes(warmup_seconds).items():
        print(f"| {name} | {slope * 1.024:+.2f} ± {error * 1.024:.2f} |")


if __name__ == "__main__":
    main()
