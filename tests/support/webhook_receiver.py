"""A webhook receiver on loopback for tests: records every POST (headers and body), and answers 500 to the
first `failures` attempts of each webhook id, then 200."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .stack import wait_until


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[Received] = []
        self.tries: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                found = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                receiver.received.append(found)
                receiver.tries[found.headers.get("webhook-id", "")] += 1
                failing = receiver.tries[found.headers.get("webhook-id", "")] <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def on(self, path: str, count: int, timeout: float = 60) -> list[Received]:
        """Waits for `count` POSTs to `path`; returns them in arrival order."""
        return wait_until(
            lambda: (found := [r for r in self.received if r.path == path]) and len(found) >= count and found,
            timeout,
            f"{count} webhook(s) at {path}",
        )
