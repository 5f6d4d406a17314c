"""REDIS_URL: a plain Redis URL (redis://, rediss://, unix://), or a Sentinel one,
`redis+sentinel://[:password@]host:port[,host:port...]/service_name` (database 0), the form flask-limiter's
storage takes too. With Sentinel a client asks the Sentinels for the current primary, and asks again after
a failover; the password goes to the Sentinels and to Redis alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import redis
from pydantic import AfterValidator
from redis.connection import BlockingConnectionPool
from redis.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEME = "redis+sentinel"


class SentinelBlockingConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """The primary's pool, bounded like BlockingConnectionPool: past `max_connections` a caller waits for a
    connection (up to `timeout`) instead of failing with "Too many connections"."""


@dataclass(frozen=True)
class SentinelUrl:
    hosts: tuple[tuple[str, int], ...]
    service: str
    username: str | None = None
    password: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        """The credentials, for the Sentinels and for Redis alike."""
        return {key: value for key, value in (("username", self.username), ("password", self.password)) if value}

    def client(self, **options: Any) -> redis.Redis:
        """A client of the current primary: it finds the primary through the Sentinels, again after a failover."""
        # The credentials by name: spread from a dict, they could as well land in min_other_sentinels.
        sentinels = Sentinel(
            list(self.hosts),
            sentinel_kwargs={**self.auth, "socket_connect_timeout": 1, "socket_timeout": 1},
            username=self.username,
            password=self.password,
        )
        return sentinels.master_for(self.service, connection_pool_class=SentinelBlockingConnectionPool, **options)


def sentinel_url(url: str) -> SentinelUrl | None:
    """The parts of a redis+sentinel:// URL, or None for any other URL; ValueError when it is malformed."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    credentials, _, locations = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    service = parts.path.strip("/")
    if not locations or not service or "/" in service:
        raise ValueError("expected redis+sentinel://[:password@]host:port[,host:port...]/service_name")
    hosts = []
    for location in locations.split(","):
        host, _, port = location.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected host:port for each Sentinel, got {location!r}")
        hosts.append((host, int(port)))
    return SentinelUrl(tuple(hosts), service, unquote(username) or None, unquote(password) or None)


PLAIN_SCHEMES = ("redis", "rediss", "unix")


def checked_redis_url(url: str) -> str:
    """For settings: a URL every part can connect with, or ValueError saying what is wrong."""
    scheme = urlsplit(url).scheme
    if scheme not in (*PLAIN_SCHEMES, SENTINEL_SCHEME):
        raise ValueError(f"expected a redis://, rediss://, unix:// or {SENTINEL_SCHEME}:// URL")
    sentinel_url(url)
    return url


RedisUrl = Annotated[str, AfterValidator(checked_redis_url)]
