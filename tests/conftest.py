"""Session-wide real parts: one redis-server, the tiny model built by the production builder, one
worker serving it and one api in front. Tests that need other settings start their own beside these."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from workers.model_builder import build

from .support.stack import API_KEY, OTHER_KEY, Api, Process, RedisServer, Started, start_api, start_worker

MODEL = "tiny"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def log_dir(workdir: Path) -> Path:
    return workdir / "logs"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("model") / "tiny-random-gpt2", seed=0)


@pytest.fixture(scope="session")
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_client(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url(), decode_responses=True)


@pytest.fixture(scope="session")
def model_settings(tiny_model: Path, log_dir: Path) -> dict[str, object]:
    """What the api and the default worker agree on."""
    return {"model_name": tiny_model, "served_model_name": MODEL, "log_dir": log_dir}


@pytest.fixture(scope="session")
def worker(workdir: Path, redis_server: RedisServer, model_settings: dict[str, object]) -> Iterator[Process]:
    process = start_worker(workdir, redis_server.url(), **model_settings)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api(workdir: Path, redis_server: RedisServer, model_settings: dict[str, object], worker: Process) -> Iterator[Api]:
    # Limits far above what tests send; the rate-limit tests run their own api with the defaults.
    server = start_api(
        workdir,
        redis_server.url(),
        api_keys=f"{API_KEY},{OTHER_KEY}",
        rate_limit_per_minute=100_000,
        rate_limit_burst=10_000,
        max_request_bytes=65_536,
        **model_settings,
    )
    yield server
    server.stop()


@pytest.fixture
def started(workdir: Path) -> Iterator[Started]:
    """Starts what one test needs beyond the session's parts; stops all of it when the test ends."""
    parts = Started(workdir)
    yield parts
    parts.stop_all()


@pytest.fixture(scope="module")
def module_started(workdir: Path) -> Iterator[Started]:
    """The same for what a module's tests share (an api with its own settings, its worker): stopped, last
    started first, after the module's last test, and at once if a later part of the fixture fails to start."""
    parts = Started(workdir)
    yield parts
    parts.stop_all()
