"""A small HTTP server that speaks the part of Ollama's documented API the worker uses
(GET /api/tags, POST /api/generate with streamed NDJSON, POST /api/embed), since no Ollama server can run
here.

It generates "w0 w1 w2 ..." up to num_predict words (done_reason "length"), or stops after three words
with done_reason "stop" when the prompt contains STOP; it embeds a text as the unit vector of its length
and word count; and it records every request it was sent."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED_AT = "2026-11-26T00:00:00Z"


class OllamaStub:
    def __init__(self, models: list[str], port: int) -> None:
        self.models = list(models)
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OllamaStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/api/tags":
                    return self._json(404, {"error": "not found"})
                self._json(200, {"models": [{"name": name, "model": name, "size": 1} for name in stub.models]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                if self.path not in ("/api/generate", "/api/embed"):
                    return self._json(404, {"error": "not found"})
                if body["model"] not in stub.models and f"{body['model']}:latest" not in stub.models:
                    return self._json(404, {"error": f'model "{body["model"]}" not found, try pulling it first'})
                if self.path == "/api/embed":
                    return self._json(200, stub.embedded(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for line in stub.chunks(body):
                    self.wfile.write(json.dumps(line).encode() + b"\n")
                    self.wfile.flush()

            def _json(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @staticmethod
    def embedded(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [OllamaStub.vector(text) for text in texts]
        count = sum(len(text.split()) for text in texts)
        return {"model": body["model"], "embeddings": vectors, "prompt_eval_count": count}

    @staticmethod
    def vector(text: str) -> list[float]:
        raw = [float(len(text)), float(len(text.split()))]
        norm = math.sqrt(sum(value * value for value in raw)) or 1.0
        return [value / norm for value in raw]

    @staticmethod
    def chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = int(body.get("options", {}).get("num_predict", 8))
        stops = "STOP" in body["prompt"]
        words = [f"w{index} " for index in range(min(wanted, 3) if stops else wanted)]
        base = {"model": body["model"], "created_at": CREATED_AT}
        lines = [{**base, "response": word, "done": False} for word in words]
        lines.append(
            {
                **base,
                "response": "",
                "done": True,
                "done_reason": "stop" if stops else "length",
                "prompt_eval_count": len(body["prompt"].split()),
                "eval_count": len(words),
                "total_duration": 1_000_000,
                "eval_duration": 500_000,
            }
        )
        return lines
