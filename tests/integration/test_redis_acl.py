"""The workers' Redis ACL user, with the chart's own rules: it reaches what a worker needs (every e2e test's
workers connect as it) and nothing an api key or another tenant depends on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from contract.connections import make_redis
from contract.names import MODEL_REGISTRY_KEY, RATE_LIMIT_KEY_PREFIX, TENANT_REGISTRY_KEY, file_key, task_key
from tests.support.sentinel import SERVICE, SentinelCluster
from tests.support.stack import WORKER_PASSWORD, WORKER_USER, RedisServer, as_worker


@pytest.fixture
def as_worker_user(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = make_redis(as_worker(redis_server.url(db=11)))
    yield client
    client.close()


@pytest.mark.parametrize(
    "refused",
    [
        lambda r: r.hset(MODEL_REGISTRY_KEY, "minted", '{"api_key_digests": ["x"]}'),  # minting an API key
        lambda r: r.hgetall(MODEL_REGISTRY_KEY),  # reading the keys' digests
        lambda r: r.hset(TENANT_REGISTRY_KEY, "t", "{}"),
        lambda r: r.get(f"{RATE_LIMIT_KEY_PREFIX}/x"),
        lambda r: r.hget(file_key("file-1"), "content"),  # another key's uploaded file
        lambda r: r.eval(f"return redis.call('del', '{MODEL_REGISTRY_KEY}')", 0),  # nor from a script
        lambda r: r.config_set("maxmemory", "1"),
        lambda r: r.flushall(),
        lambda r: r.acl_setuser(WORKER_USER, commands=["+@all"]),
        lambda r: r.client_list(),  # every connection, with addresses and names
    ],
    ids=["mint-key", "read-keys", "tenants", "rate-limit", "files", "script", "config", "flushall", "acl", "clients"],
)
def test_the_worker_user_cannot_reach_what_only_the_api_and_operator_may(
    as_worker_user: redis.Redis, refused: object
) -> None:
    # NOPERM, or from a script "can't access at least one of the keys"
    with pytest.raises(redis.exceptions.ResponseError, match="no permissions|can't access"):
        refused(as_worker_user)  # type: ignore[operator]


def test_the_worker_user_may_list_keys_as_dramatiqs_maintenance_does(as_worker_user: redis.Redis) -> None:
    # KEYS is @dangerous, but Dramatiq's dispatch script finds a dead worker's acknowledgement sets with it:
    # without it a killed worker's messages would never return to the queue
    assert isinstance(as_worker_user.eval("return redis.call('keys', 'dramatiq:__acks__.none*')", 1, "dramatiq"), list)


def test_the_worker_user_writes_task_records(as_worker_user: redis.Redis, redis_server: RedisServer) -> None:
    as_worker_user.hset(task_key("acl-test"), "status", "completed")
    assert redis.Redis(port=redis_server.port, db=11, decode_responses=True).hget(task_key("acl-test"), "status")


def test_through_sentinels_the_worker_user_finds_the_primary_and_cannot_move_it(workdir: Path) -> None:
    cluster = SentinelCluster(workdir).start()
    try:
        client = make_redis(as_worker(cluster.url()))
        client.hset(task_key("via-sentinel"), "status", "queued")  # found the primary, and wrote as a worker
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.hgetall(MODEL_REGISTRY_KEY)
        sentinel = redis.Redis(
            port=cluster.sentinel_ports[0], username=WORKER_USER, password=WORKER_PASSWORD, decode_responses=True
        )
        assert sentinel.sentinel_get_master_addr_by_name(SERVICE)
        with pytest.raises(redis.exceptions.NoPermissionError):
            sentinel.sentinel_failover(SERVICE)
        client.close()
    finally:
        cluster.stop()
