"""Run the service locally in the foreground: `python scripts/dev.py run` (Redis if needed, one worker,
the api under Gunicorn) or `python scripts/dev.py redis` (Redis alone). Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from api.settings import ApiSettings
from contract.connections import make_redis
from contract.redis_url import sentinel_url
from contract.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
STOP_TIMEOUT_SECONDS = 20


def redis_answers(url: str) -> bool:
    try:
        return bool(make_redis(url).ping())
    except redis.RedisError:
        return False


def redis_command(url: str) -> list[str]:
    parts = urlparse(url)
    if sentinel_url(url):
        sys.exit("Redis behind the Sentinels at REDIS_URL does not answer: start them, or use a redis:// URL")
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if host not in LOCAL_HOSTS:
        sys.exit(f"Redis at REDIS_URL ({host}:{port}) does not answer, and it is not local: start it or fix REDIS_URL")
    data = Path.cwd() / ".redis-data"
    data.mkdir(exist_ok=True)
    # Append-only file on, so queued requests survive a restart of this Redis.
    return ["redis-server", "--bind", host, "--port", str(port), "--dir", str(data), "--appendonly", "yes"]


def start_redis(settings: ApiSettings) -> subprocess.Popen[bytes] | None:
    if redis_answers(settings.redis_url):
        print(f"Redis already answers at {settings.redis_url}; using it", flush=True)
        return None
    process = spawn(redis_command(settings.redis_url))
    deadline = time.monotonic() + 10
    while not redis_answers(settings.redis_url):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit("redis-server did not start; see its output above")
        time.sleep(0.1)
    return process


def service_commands() -> list[list[str]]:
    bin_dir = Path(sys.executable).parent
    return [
        [sys.executable, "-m", "workers"],
        [str(bin_dir / "gunicorn"), "-c", str(ROOT / "api" / "gunicorn_conf.py"), "api.wsgi:app"],
    ]


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    # A session of its own: a terminal's Ctrl-C reaches only this supervisor, which then sends each
    # child exactly one SIGTERM (a second signal would make Dramatiq kill instead of drain).
    return subprocess.Popen(command, start_new_session=True)


def supervise(processes: list[subprocess.Popen[bytes]]) -> int:
    """Wait until a signal arrives or any process exits, then stop the others, newest first."""
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping and all(process.poll() is None for process in processes):
        time.sleep(0.2)
    failed = [process for process in processes if process.poll() not in (None, 0)]
    for process in reversed(processes):
        stop(process)
    return 1 if failed and not stopping else 0


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "run"
    if mode not in {"run", "redis"}:
        sys.exit(f"usage: {Path(__file__).name} [run|redis]")
    settings = load_settings(ApiSettings)
    processes = [p for p in [start_redis(settings)] if p is not None]
    if mode == "redis" and not processes:
        return 0
    if mode == "run":
        processes += [spawn(command) for command in service_commands()]
        print(f"api on http://{settings.api_host}:{settings.api_port}, model {settings.model_id}", flush=True)
    return supervise(processes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
