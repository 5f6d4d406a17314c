"""The failover scenario, shared by the tests and bench/failover.py: clients submit and a worker generates
through Sentinel while the primary gets SIGKILL; then every accepted task is followed to its end."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

from .sentinel import SentinelCluster
from .stack import API_KEY, Api, wait_until

BODY = {"prompt": "failover", "max_tokens": 8, "temperature": 0}


@dataclass
class Outcome:
    accepted: list[str] = field(default_factory=list)
    refused: int = 0
    """503s with Retry-After: the documented answer while Redis has no primary"""
    unexpected: list[str] = field(default_factory=list)
    """any other answer than 202 or such a 503 (status and body), or a connection error"""
    health: list[tuple[float, int]] = field(default_factory=list)
    """(seconds after the kill, /health's status); negative before it"""
    failover_seconds: float = 0.0
    """from the kill until the Sentinels name a new primary"""
    first_accept_seconds: float = 0.0
    """from the kill until the first 202 to a request sent after it"""
    final: dict[str, str] = field(default_factory=dict)
    """task id -> completed, failed:<error type>, or lost (gone from Redis)"""

    def count(self, ending: str) -> int:
        return sum(1 for value in self.final.values() if value.startswith(ending))


class Traffic:
    """Clients that POST /generate until stopped, and a /health poller, recording what they get."""

    def __init__(self, api: Api, clients: int) -> None:
        self.api = api
        self.outcome = Outcome()
        self.killed_at: float | None = None
        self.accepted_after_kill: float | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._submit) for _ in range(clients)]
        self.threads.append(threading.Thread(target=self._poll_health))

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def since_kill(self) -> float:
        return time.monotonic() - self.killed_at if self.killed_at is not None else -1.0

    def _submit(self) -> None:
        headers = {"X-API-Key": API_KEY}
        while not self.stop.is_set():
            sent_after_kill = self.killed_at is not None
            try:
                response = requests.post(self.api.url("/generate"), headers=headers, json=BODY, timeout=15)
            except requests.RequestException as error:
                with self.lock:
                    self.outcome.unexpected.append(f"connection: {error}")
                continue
            with self.lock:
                self._record(response, sent_after_kill)
            if response.status_code == 503:
                time.sleep(0.1)  # a client that honours Retry-After would wait longer; keep the window busy

    def _record(self, response: requests.Response, sent_after_kill: bool) -> None:
        if response.status_code == 202:
            self.outcome.accepted.append(response.json()["task_id"])
            if sent_after_kill and self.accepted_after_kill is None:
                self.accepted_after_kill = self.since_kill()
        elif response.status_code == 503 and response.headers.get("Retry-After"):
            self.outcome.refused += 1
        else:
            self.outcome.unexpected.append(f"{response.status_code}: {response.text[:200]}")

    def _poll_health(self) -> None:
        while not self.stop.wait(0.1):
            try:
                status = requests.get(self.api.url("/health"), timeout=5).status_code
            except requests.RequestException:
                status = 0
            self.outcome.health.append((self.since_kill(), status))


def run_failover(api: Api, cluster: SentinelCluster, *, clients: int = 2, before: int = 20) -> Outcome:
    with Traffic(api, clients) as traffic:
        wait_until(lambda: len(traffic.outcome.accepted) >= before, 60, f"{before} accepted tasks")
        old, traffic.killed_at = cluster.kill_primary()
        wait_until(lambda: cluster.primary_port() not in (None, old), 60, "a new primary")
        traffic.outcome.failover_seconds = traffic.since_kill()
        wait_until(lambda: traffic.accepted_after_kill is not None, 60, "a 202 after the failover")
        traffic.outcome.first_accept_seconds = traffic.accepted_after_kill or 0.0
        accepted = len(traffic.outcome.accepted)
        wait_until(lambda: len(traffic.outcome.accepted) >= accepted + 10, 60, "more accepted tasks")
        wait_until(lambda: traffic.outcome.health[-1][1] == 200, 30, "/health to recover")
    outcome = traffic.outcome
    for task_id in outcome.accepted:
        outcome.final[task_id] = ending(api, task_id)
    return outcome


def ending(api: Api, task_id: str, timeout: float = 120) -> str:
    def final() -> str | None:
        response = requests.get(api.url(f"/result/{task_id}"), headers={"X-API-Key": API_KEY}, timeout=5)
        if response.status_code == 404:
            return "lost"
        body = response.json()
        if body["status"] == "completed":
            return "completed"
        return f"failed:{body['error_type']}" if body["status"] == "error" else None

    found: str = wait_until(final, timeout, f"task {task_id} to end", interval=0.2)
    return found
