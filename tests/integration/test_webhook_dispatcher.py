"""The webhook dispatcher's one attempt against receivers on this machine: an internal address refused unless
an address entry allows it; the request made to the checked address with the name in its Host header; a
receiver's endless body never read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis

from api.settings import ApiSettings
from api.webhooks.dispatcher import Dispatcher
from contract.task_store import TaskStore


class EndlessReceiver:
    """Answers 200, then sends body bytes for as long as the client reads; records each request's Host."""

    def __init__(self) -> None:
        hosts = self.hosts = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                hosts.append(self.headers["Host"])
                self.send_response(200)
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"x" * 65536)
                except OSError:  # the client went away, as it should
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[EndlessReceiver]:
    found = EndlessReceiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


def dispatcher(redis_client: redis.Redis, allowed: str) -> Dispatcher:
    settings = ApiSettings(  # type: ignore[call-arg]
        api_keys="k", webhook_secret="s", webhook_allowed_hosts=allowed, webhook_timeout=2, _env_file=None
    )
    return Dispatcher(redis_client, TaskStore(redis_client, 60), settings)


def test_a_name_that_resolves_to_an_internal_address_is_refused_without_an_address_entry(
    redis_client: redis.Redis, receiver: EndlessReceiver
) -> None:
    outcome = dispatcher(redis_client, "localhost")._post("d1", f"http://localhost:{receiver.port}/x", "{}")
    assert outcome is not None and outcome.startswith("refused") and "internal address" in outcome
    assert receiver.hosts == []  # never called


def test_the_checked_address_is_called_with_the_name_and_an_endless_body_is_not_read(
    redis_client: redis.Redis, receiver: EndlessReceiver
) -> None:
    allowed = dispatcher(redis_client, "localhost,127.0.0.1,::1")
    started = time.monotonic()
    assert allowed._post("d2", f"http://localhost:{receiver.port}/x", "{}") is None
    assert time.monotonic() - started < 2 and receiver.hosts == [f"localhost:{receiver.port}"]
