"""The webhook dispatcher against receivers on this machine: an internal address refused unless an address
entry allows it; the request made to the checked address with the name in its Host header; a receiver's
endless body never read; one key's slow receiver not holding up another key's webhooks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis

from api.settings import ApiSettings
from api.webhooks.dispatcher import Dispatcher
from contract.task_store import TaskStore
from contract.webhooks import delivery_key, schedule


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


class SlowReceiver:
    """Answers 200 after `delay` seconds; records each request's path."""

    def __init__(self, delay: float) -> None:
        paths = self.paths = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_one_keys_slow_receiver_holds_one_place_and_other_keys_webhooks_go_at_once(
    redis_client: redis.Redis,
) -> None:
    slow, fast = SlowReceiver(1.5), SlowReceiver(0.0)
    try:
        sender = dispatcher(redis_client, "localhost,127.0.0.1,::1")
        now = time.time()
        for index in range(4):  # key A: four webhooks to a receiver taking 1.5 s each
            url = f"http://localhost:{slow.port}/a{index}"
            schedule(
                redis_client,
                f"d-a{index}-{uuid.uuid4()}",
                url=url,
                kind="task",
                ref="t",
                now=now,
                ttl=60,
                owner="key-a",
                body="{}",
            )
        delivery = f"d-b-{uuid.uuid4()}"  # key B: one, scheduled last
        url = f"http://localhost:{fast.port}/b"
        schedule(
            redis_client, delivery, url=url, kind="task", ref="t", now=now + 0.001, ttl=60, owner="key-b", body="{}"
        )
        started = time.monotonic()
        assert sender.send_due() == 2  # one of A's and B's, at once
        assert time.monotonic() - started < 2.5 and fast.paths == ["/b"] and len(slow.paths) == 1
        assert redis_client.hget(delivery_key(delivery), "state") == "delivered"
    finally:
        for receiver in (slow, fast):
            receiver.server.shutdown()
            receiver.server.server_close()
