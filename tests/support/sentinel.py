"""A Redis primary, two replicas and three Sentinels on loopback ports, with a password: real processes,
for the failover tests and bench/failover.py."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import redis

from .stack import (
    WORKER_PASSWORD,
    WORKER_SENTINEL_ACL,
    WORKER_USER,
    WORKER_USER_PORTS,
    Process,
    RedisServer,
    free_port,
    wait_until,
)

SERVICE = "llm"
PASSWORD = "sentinel-test-password"
DOWN_AFTER_MS = 1000


class SentinelCluster:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.nodes: list[RedisServer] = []
        self.sentinels: list[Process] = []
        self.sentinel_ports = [free_port() for _ in range(3)]

    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://:{PASSWORD}@{hosts}/{SERVICE}"

    def start(self) -> SentinelCluster:
        auth = ("--requirepass", PASSWORD, "--masterauth", PASSWORD)
        primary = RedisServer(self.workdir, persistent=True, extra=auth).start()
        self.nodes = [primary]
        for _ in range(2):
            replica = ("--replicaof", "127.0.0.1", str(primary.port))
            self.nodes.append(RedisServer(self.workdir, persistent=True, extra=(*auth, *replica)).start())
        self.sentinels = [self._start_sentinel(port, primary.port) for port in self.sentinel_ports]
        wait_until(self._ready, 30, "the replicas in sync and the Sentinels aware of each other")
        return self

    def _start_sentinel(self, port: int, primary_port: int) -> Process:
        config = self.workdir / f"sentinel-{port}.conf"  # a file of its own: Sentinel rewrites it
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\nrequirepass {PASSWORD}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
            f"sentinel auth-pass {SERVICE} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"user {WORKER_USER} on >{WORKER_PASSWORD} {' '.join(WORKER_SENTINEL_ACL)}\n"
        )
        WORKER_USER_PORTS.add(port)
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run scripts/ensure_redis.sh"
        return Process(f"sentinel-{port}", [binary, str(config), "--sentinel"], dict(os.environ), self.workdir)

    def sentinel(self, index: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinel_ports[index], password=PASSWORD, decode_responses=True, socket_timeout=2)

    def _ready(self) -> bool:
        try:
            info = redis.Redis(port=self.nodes[0].port, password=PASSWORD).info("replication")
            if info.get("connected_slaves") != 2:
                return False
            for index in range(3):
                sentinel = self.sentinel(index)
                known = sentinel.execute_command("SENTINEL", "SENTINELS", SERVICE)
                replicas = sentinel.execute_command("SENTINEL", "REPLICAS", SERVICE)
                if len(known) != 2 or len(replicas) != 2:
                    return False
            return True
        except redis.RedisError:
            return False

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels see it now, or None while none is known."""
        for index in range(3):
            try:
                found = self.sentinel(index).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
                return int(found[1]) if found else None
            except redis.RedisError:
                continue
        return None

    def kill_primary(self) -> tuple[int, float]:
        """SIGKILL to the primary's process; returns its port and the time of the kill (time.monotonic())."""
        port = self.primary_port()
        node = next(node for node in self.nodes if node.port == port)
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGKILL)
        return node.port, time.monotonic()

    def stop(self) -> None:
        for process in self.sentinels:
            process.stop()
        for node in self.nodes:
            node.stop()
