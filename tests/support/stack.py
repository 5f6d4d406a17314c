"""Real parts for tests: a redis-server on a free port, Dramatiq workers and Gunicorn, each a process
stopped by its own pid. Nothing here fakes a component; every process runs the production entry point.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import redis
import requests

from api.settings import ApiSettings
from contract import heartbeats
from contract.connections import make_redis
from workers.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-123"
OTHER_KEY = "demo-key-456"
# Every variable the services read, so that none leaks in from the developer's environment.
SETTING_NAMES = {name.upper() for kind in (ApiSettings, WorkerSettings) for name in kind.model_fields} | {
    "OLLAMA_MODEL"
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test run dies, even by SIGKILL, so no server outlives it."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


class Process:
    """A child process whose output goes to a file, stopped by SIGTERM to its own pid."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.metrics_url = ""  # a worker's Prometheus endpoint
        self.output_path = workdir / f"{name}.out"
        self.output = self.output_path.open("wb")
        self.popen = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=self.output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
        self.output.close()


def kill_worker(worker: Process) -> None:
    """SIGKILL Dramatiq's main process and its worker process: no chance to clean up or acknowledge."""
    for pid in [*children_of(worker.pid), worker.pid]:
        os.kill(pid, signal.SIGKILL)
    worker.popen.wait()


def children_of(pid: int) -> set[int]:
    """The pids whose parent is pid, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


# Workers connect as the chart's `worker` ACL user, which every RedisServer (and SentinelCluster) declares
# with the chart's own rules: what a worker may touch is then what the chart lets it, tried by every e2e test.
WORKER_USER, WORKER_PASSWORD = "worker", "test-worker-password"
WORKER_ACL = (ROOT / "helm/llm-service/files/redis-worker.acl").read_text().split()
WORKER_SENTINEL_ACL = (ROOT / "helm/llm-service/files/redis-worker-sentinel.acl").read_text().split()
WORKER_USER_PORTS: set[int] = set()
"""Ports of the test Redis servers and Sentinels that declare the worker user."""


def as_worker(redis_url: str) -> str:
    """The URL a worker connects with: as the worker user where the test's Redis (or Sentinel) declares one."""
    parts = urlsplit(redis_url)
    hosts = parts.netloc.rpartition("@")[2]
    port = hosts.split(",")[0].rpartition(":")[2]
    if parts.scheme not in ("redis", "redis+sentinel") or not port.isdigit() or int(port) not in WORKER_USER_PORTS:
        return redis_url
    return parts._replace(netloc=f"{WORKER_USER}:{WORKER_PASSWORD}@{hosts}").geturl()


class RedisServer:
    def __init__(
        self, workdir: Path, port: int | None = None, persistent: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.persistent = persistent
        """append-only file on, fsync on every write, kept in a folder of its own across restarts"""
        self.extra = extra
        """more redis-server arguments (a password, replicaof, ...)"""
        self.process: Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run scripts/ensure_redis.sh"
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        if self.persistent:
            data = self.workdir / f"redis-data-{self.port}"
            data.mkdir(exist_ok=True)
            command[-1] = "yes"
            command += ["--appendfsync", "always", "--dir", str(data)]
        command += ["--user", WORKER_USER, "on", f">{WORKER_PASSWORD}", *WORKER_ACL]
        WORKER_USER_PORTS.add(self.port)
        self.process = Process(f"redis-{self.port}", [*command, *self.extra], dict(os.environ), self.workdir)
        client = redis.Redis(port=self.port, password=self.password)
        wait_until(lambda: _pings(client), 10, f"redis-server on {self.port}")
        return self

    @property
    def password(self) -> str | None:
        return self.extra[self.extra.index("--requirepass") + 1] if "--requirepass" in self.extra else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def service_env(**settings: Any) -> dict[str, str]:
    """The parent's environment without any of our settings, plus the given ones (as strings)."""
    env = {name: value for name, value in os.environ.items() if name.upper() not in SETTING_NAMES}
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def start_worker(workdir: Path, redis_url: str, **settings: Any) -> Process:
    settings.setdefault("worker_metrics_port", free_port())
    settings.setdefault("heartbeat_interval", 0.5)
    env = service_env(REDIS_URL=as_worker(redis_url), **settings)
    model = settings.get("served_model_name") or settings["model_name"]
    worker = Process(f"worker-{model}-{free_port()}", [sys.executable, "-m", "workers"], env, workdir)
    client = make_redis(redis_url)

    def ready() -> bool:
        assert worker.alive(), f"worker exited:\n{worker.tail()}"
        return model in heartbeats.loaded_models(heartbeats.live(client))

    try:
        wait_until(ready, 90, f"a worker heartbeat for {model}", interval=0.2)
    except BaseException:
        worker.stop()  # one that never became ready is nobody's to stop later
        raise
    worker.metrics_url = f"http://127.0.0.1:{settings['worker_metrics_port']}/metrics"
    return worker


class Api:
    """An api at base_url; process is the one serving it, when a test started it."""

    def __init__(self, process: Process | None, base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def start_api(workdir: Path, redis_url: str, **settings: Any) -> Api:
    port = free_port()
    env = service_env(REDIS_URL=redis_url, API_HOST="127.0.0.1", API_PORT=port, API_WORKERS=2, **settings)
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "api" / "gunicorn_conf.py"), "api.wsgi:app"]
    process = Process(f"api-{port}", command, env, workdir)
    api = Api(process, f"http://127.0.0.1:{port}")

    def answers() -> bool:
        assert process.alive(), f"api exited:\n{process.tail()}"
        try:
            return requests.get(api.url("/health"), timeout=2).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):  # bound, but no worker has booted yet
            return False

    try:
        wait_until(answers, 60, "the api to answer /health", interval=0.1)
    except BaseException:
        process.stop()  # a Gunicorn master left behind would restart its workers for ever
        raise
    return api


def submit(api: Api, key: str = API_KEY, **body: Any) -> str:
    """POST /generate, expect 202, return the task id."""
    response = requests.post(api.url("/generate"), headers={"X-API-Key": key}, json=body, timeout=10)
    assert response.status_code == 202, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def wait_for_final(api: Api, task_id: str, key: str = API_KEY, timeout: float = 60) -> dict[str, Any]:
    """Poll /result until the task completes or fails; returns the result body."""

    def final() -> dict[str, Any] | None:
        response = requests.get(api.url(f"/result/{task_id}"), headers={"X-API-Key": key}, timeout=5)
        if response.status_code == 503:  # Redis away for a moment (documented, with Retry-After): ask again
            return None
        body: dict[str, Any] = response.json()
        return body if body["status"] in ("completed", "error", "cancelled") else None

    result: dict[str, Any] = wait_until(final, timeout, f"task {task_id} to finish", interval=0.1)
    return result


def statuses(api: Api, ids: list[str], key: str = API_KEY) -> list[str]:
    """Each task's status, in order."""
    return [
        requests.get(api.url(f"/status/{task_id}"), headers={"X-API-Key": key}, timeout=5).json()["status"]
        for task_id in ids
    ]


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sse_events(api: Api, task_id: str, key: str = API_KEY, last_event_id: str | None = None) -> list[dict[str, Any]]:
    """Reads /stream to its end; returns [{"id": ..., "data": {...}}] in order (comments dropped)."""
    headers = {"X-API-Key": key, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    with requests.get(api.url(f"/stream/{task_id}"), headers=headers, stream=True, timeout=60) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return parse_sse(response.iter_lines(decode_unicode=True))


def parse_sse(lines: Any) -> list[dict[str, Any]]:
    found, current = [], {}
    for line in lines:
        if line == "":
            if "data" in current:
                found.append(current)
            current = {}
        elif line.startswith("id: "):
            current["id"] = line[4:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
    return found


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus endpoint, keyed by (name, labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include the given ones (0 when none)."""
    wanted = set(labels.items())
    return sum(value for (found, found_labels), value in samples.items() if found == name and wanted <= found_labels)


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


class Started:
    """What one test starts beyond the session's parts (an api with other settings, a worker to kill, its
    own Redis), each stopped at the test's end by its process id, the last started first, whatever the
    test did meanwhile (stopping one twice is harmless). Behind the `started` fixture, and `module_started`
    for the parts a module's tests share."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.parts: list[Stoppable] = []

    def own(self, part: S) -> S:
        self.parts.append(part)
        return part

    def redis(self, **options: Any) -> RedisServer:
        return self.own(RedisServer(self.workdir, **options)).start()

    def api(self, redis_url: str, **settings: Any) -> Api:
        return self.own(start_api(self.workdir, redis_url, **settings))

    def worker(self, redis_url: str, **settings: Any) -> Process:
        return self.own(start_worker(self.workdir, redis_url, **settings))

    def stop_all(self) -> None:
        while self.parts:
            self.parts.pop().stop()
