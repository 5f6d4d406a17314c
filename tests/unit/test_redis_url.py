"""REDIS_URL: plain URLs pass through; Sentinel URLs are parsed once, and malformed ones stop the process."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import ApiSettings
from contract.redis_url import SentinelUrl, sentinel_url


def test_a_sentinel_url_names_every_sentinel_the_service_and_the_password() -> None:
    found = sentinel_url("redis+sentinel://:p%40ss@s1:26379,10.0.0.2:26380/mymaster")
    assert found == SentinelUrl((("s1", 26379), ("10.0.0.2", 26380)), "mymaster", None, "p@ss")
    assert sentinel_url("redis+sentinel://user:pw@s1:26379/m") == SentinelUrl((("s1", 26379),), "m", "user", "pw")


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:pw@host:6380/1", "unix:///run/redis.sock"])
def test_plain_urls_are_not_sentinel_urls(url: str) -> None:
    assert sentinel_url(url) is None
    assert ApiSettings(redis_url=url, _env_file=None).redis_url == url  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis+sentinel://s1:26379", "service_name"),
        ("redis+sentinel://s1:26379/mymaster/0", "service_name"),
        ("redis+sentinel://s1/mymaster", "host:port for each Sentinel"),
        ("redis+sentinel://s1:26379,:26380/mymaster", "host:port for each Sentinel"),
        ("http://s1:26379/mymaster", "redis://, rediss://, unix:// or redis+sentinel://"),
        ("localhost:6379", "redis://, rediss://, unix:// or redis+sentinel://"),
    ],
)
def test_a_malformed_url_is_refused_saying_why(url: str, why: str) -> None:
    with pytest.raises(ValidationError, match="redis_url") as raised:
        ApiSettings(redis_url=url, _env_file=None)  # type: ignore[call-arg]
    assert why in str(raised.value)
