"""The in-process tier: the api's app built by its own factory and driven through Flask's test client, on a
real redis-server of its own (no worker, no Gunicorn). For what needs neither: validation, auth, error
shapes, the documents. What needs Gunicorn (its own refusals, streams, processes) stays in e2e."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.settings import ApiSettings

from ..support.stack import API_KEY, OTHER_KEY, RedisServer

MODEL = "tiny"
ADMIN_KEY = OTHER_KEY
"""may read every key's usage"""


@pytest.fixture(scope="session")
def api_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("api-tier")).start()
    yield server
    # The app's background loops (daemon threads) outlive the tier and would log Redis's absence to
    # streams pytest has closed by then
    logging.disable(logging.CRITICAL)
    server.stop()


def settings(api_redis: RedisServer, log_dir: Path, db: int = 0, **overrides: object) -> ApiSettings:
    """The tier's settings on one database of its redis-server: limits far above what tests send."""
    values: dict[str, Any] = {
        "api_keys": f"{API_KEY},{OTHER_KEY}",
        "admin_api_keys": ADMIN_KEY,
        "served_model_name": MODEL,
        "model_name": MODEL,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 10_000,
        "max_request_bytes": 65_536,
        "log_dir": log_dir,
        **overrides,
    }
    return ApiSettings(_env_file=None, redis_url=api_redis.url(db), **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def app(api_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(settings(api_redis, tmp_path_factory.mktemp("api-tier-logs")))


@pytest.fixture(scope="session")
def client_with(api_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., FlaskClient]:
    """Another app of the tier, with other settings, on a database of its own (emptied first): for what the
    session's app cannot show, such as a short queue."""

    def build(db: int, **overrides: object) -> FlaskClient:
        assert db != 0, "database 0 is the session's app"
        redis.Redis.from_url(api_redis.url(db)).flushdb()
        return create_app(settings(api_redis, tmp_path_factory.mktemp("api-tier-logs"), db, **overrides)).test_client()

    return build


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def redis_client(api_redis: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(api_redis.url(), decode_responses=True)
