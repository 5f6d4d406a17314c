"""Where an api process's memory grows: tracemalloc snapshots of one api process before and after N
requests, diffed by allocation site; and its resident memory beside glibc's own count of what malloc hands
out and holds free, before and after, and after one malloc_trim(0).

The api runs in this process as Gunicorn's gevent worker runs it (gevent's monkey patching, the same app,
gevent's WSGI server), with a real redis-server and a real worker; the clients run in another process, so
their allocations are not counted. Each request is POST /generate then GET /stream to the final event.

    .venv/bin/python bench/api_heap.py [--warmup 2000] [--requests 10000] [--concurrency 16] [--top 15]
                                       [--frames 12]   (--frames 0: no tracemalloc, memory figures only)
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.stack import API_KEY, RedisServer, free_port, service_env, start_worker  # noqa: E402
from workers.model_builder import build  # noqa: E402

CLIENTS = """
import sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, {root!r})
from bench.load import one_request
from tests.support.stack import Api
api = Api(None, {url!r})
with ThreadPoolExecutor({concurrency}) as pool:
    list(pool.map(lambda i: one_request(api, i, 16, 8), range({start}, {start} + {count})))
"""


def drive(url: str, start: int, count: int, concurrency: int) -> None:
    """Runs `count` requests from another process and waits for them (cooperatively, under gevent: this
    process serves them meanwhile)."""
    code = CLIENTS.format(root=str(ROOT), url=url, concurrency=concurrency, start=start, count=count)
    subprocess.run([sys.executable, "-c", code], check=True)


def heap() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def memory() -> dict[str, float]:
    """This process's resident KiB, and glibc's view: bytes malloc hands out (in use) and holds free."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    rss = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:")
    )
    return {"rss": rss, "malloc_in_use": (info.uordblks + info.hblkhd) / 1024, "malloc_free": info.fordblks / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--frames", type=int, default=12, help="tracemalloc's frames; 0: memory figures only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = build(workdir / "model", seed=0)
        server = RedisServer(workdir).start()
        settings = {
            "model_name": model,
            "served_model_name": "heap",
            "log_dir": workdir / "logs",
            "log_level": "WARNING",
        }
        worker = start_worker(workdir, server.url(), max_batch_size=args.concurrency, **settings)
        port = free_port()
        os.environ.update(
            service_env(
                REDIS_URL=server.url(),
                API_KEYS=API_KEY,
                RATE_LIMIT_PER_MINUTE=1_000_000,
                RATE_LIMIT_BURST=100_000,
                **settings,
            )
        )
        from gevent.pywsgi import WSGIServer

        from api.app import create_app

        wsgi = WSGIServer(("127.0.0.1", port), create_app(), log=None)
        wsgi.start()
        url = f"http://127.0.0.1:{port}"
        try:
            if args.frames:
                tracemalloc.start(args.frames)
            drive(url, 0, args.warmup, args.concurrency)
            before, memory_before = heap() if args.frames else None, memory()
            drive(url, args.warmup, args.requests, args.concurrency)
            after, memory_after = heap() if args.frames else None, memory()
        finally:
            wsgi.stop()
            worker.stop()
            server.stop()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    trimmed = memory()
    print(f"over {args.requests} requests (KiB, and bytes a request):")
    for name, value in memory_after.items():
        grown = (value - memory_before[name]) * 1024 / args.requests
        line = f"{name:14} {memory_before[name]:10.0f} -> {value:10.0f} ({grown:+6.1f})"
        print(f"{line}  after malloc_trim(0): {trimmed[name]:10.0f}")
    if before is not None and after is not None:
        report(before, after, args.requests, args.top)


def report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, requests: int, top: int) -> None:
    total = sum(stat.size for stat in after.statistics("filename")) - sum(
        stat.size for stat in before.statistics("filename")
    )
    print(f"Python heap growth over {requests} requests: {total / 1024:.1f} KiB ({total / requests:.1f} B a request)")
    print(f"{'KiB':>8} {'blocks':>8}  where (innermost frame of our code or the library's)")
    for stat in after.compare_to(before, "traceback")[:top]:
        if stat.size_diff <= 0:
            continue
        print(f"{stat.size_diff / 1024:8.1f} {stat.count_diff:8d}  {stat.traceback.format()[-1].strip()}")
        for line in stat.traceback.format(limit=-6)[:-1]:
            print(f"{'':18}{line.strip()}")


if __name__ == "__main__":
    main()
