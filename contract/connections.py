"""Redis connections and the Dramatiq broker, built the same way for the api, the workers and the operator,
from a plain Redis URL or a Sentinel one (redis_url.py)."""

from __future__ import annotations

from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker
from redis.connection import BlockingConnectionPool

from .names import DRAMATIQ_NAMESPACE
from .redis_url import sentinel_url

# Per million broker commands. Dramatiq's 1,000 means a lost worker's messages return only after about a
# thousand polls by the others; 100,000 makes that about ten (about a second of an idle worker's polling).
MAINTENANCE_CHANCE = 100_000
# Dramatiq's own default; only workers' heartbeats are judged by it, so the api may leave it.
DEFAULT_WORKER_LOST_AFTER = 15.0
# Short timeouts so a dead Redis turns into a clear 503 quickly instead of a hung request. Pools are bounded
# per process: past `max_connections` a caller waits up to `timeout` for a connection to come back, instead
# of opening ever more (redis-py's default pool fails at 100 with "Too many connections").
POOL_OPTIONS: dict[str, Any] = {"max_connections": 64, "timeout": 10}
STORE_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "health_check_interval": 15,
    **POOL_OPTIONS,
}
BROKER_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 10, **POOL_OPTIONS}


def make_redis(redis_url: str, name: str | None = None) -> redis.Redis:
    """The client for task records, events, heartbeats and the registry (str in, str out). `name` labels
    its connections in Redis' CLIENT LIST (llm-api, llm-worker, llm-operator)."""
    options = {**STORE_OPTIONS, "client_name": name}
    sentinel = sentinel_url(redis_url)
    if sentinel is not None:
        return sentinel.client(decode_responses=True, **options)
    return redis.Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, decode_responses=True, **options))


def make_broker(
    redis_url: str, worker_lost_after: float = DEFAULT_WORKER_LOST_AFTER, name: str | None = None
) -> RedisBroker:
    """A broker with Dramatiq's default middleware, on its own pool (it needs bytes, the store wants str).

    A worker silent for `worker_lost_after` seconds is taken for dead and its unacknowledged messages go
    back to their queues; workers keep their heartbeat fresh from the Heartbeats middleware, even mid-batch.
    """
    options = {**BROKER_OPTIONS, "client_name": f"{name}-broker" if name else None}
    sentinel = sentinel_url(redis_url)
    if sentinel is not None:
        client = sentinel.client(**options)
    else:
        client = redis.Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, **options))
    return RedisBroker(
        client=client,
        namespace=DRAMATIQ_NAMESPACE,
        heartbeat_timeout=int(worker_lost_after * 1000),
        maintenance_chance=MAINTENANCE_CHANCE,
    )
