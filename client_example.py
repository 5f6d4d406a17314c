"""A small Python client for the LLM inference service (needs only `requests`).

    from client_example import LLMClient

    client = LLMClient(base_url="http://localhost:8000", api_key="test-key-123")
    result = client.generate(prompt="Write a haiku about programming", max_tokens=100, temperature=0.8, wait=True)
    print(result["result"])

    for event in client.stream(client.generate(prompt="Hi", wait=False)["task_id"]):
        print(event.get("delta", ""), end="", flush=True)

Run it as a script to generate once and print the text and its metrics:

    python client_example.py [--url http://localhost:8000] [--key test-key-123] [prompt]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from typing import Any

import requests


class LLMError(Exception):
    """Any error the service reports; `status_code` and `body` are the HTTP answer."""

    def __init__(self, message: str, status_code: int | None = None, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body or {}


class InvalidRequestError(LLMError):
    """400 or 413: `field` names the parameter at fault."""

    @property
    def field(self) -> str | None:
        return self.body.get("field")


class AuthenticationError(LLMError):
    """401: the API key is missing or wrong."""


class TaskNotFoundError(LLMError):
    """404: no such task for this key."""


class RateLimitError(LLMError):
    """429: `retry_after` is how many seconds to wait before trying again."""

    def __init__(self, message: str, status_code: int, body: dict[str, Any], retry_after: float) -> None:
        super().__init__(message, status_code, body)
        self.retry_after = retry_after


class ServiceUnavailableError(RateLimitError):
    """503: the service cannot reach its queue now; retry after `retry_after` seconds."""


class TaskFailedError(LLMError):
    """The task ended `failed`: `error_type` and `error_message` say why."""

    def __init__(self, task_id: str, error_type: str, error_message: str) -> None:
        super().__init__(f"task {task_id} failed: {error_type}: {error_message}")
        self.task_id, self.error_type, self.error_message = task_id, error_type, error_message


class TaskCancelledError(LLMError):
    """The task ended `cancelled`: its owner cancelled it."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} was cancelled")
        self.task_id = task_id


class LLMClient:
    def __init__(self, base_url: str = "http://localhost:8000", api_key: str = "", timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = api_key

    def health(self) -> dict[str, Any]:
        return self.session.get(f"{self.base_url}/health", timeout=self.timeout).json()  # type: ignore[no-any-return]

    def generate(
        self,
        prompt: str,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        user_id: str | None = None,
        model: str | None = None,
        wait: bool = True,
        poll_interval: float = 0.5,
        wait_timeout: float | None = None,
        **sampling: Any,
    ) -> dict[str, Any]:
        """Submit a prompt. With wait=True, return the completed result (or raise TaskFailedError);
        with wait=False, return at once with the task id. `sampling` takes the other options of
        POST /generate (seed, stop, ignore_eos...)."""
        options = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "user_id": user_id,
            "model": model,
            **sampling,
        }
        body = {"prompt": prompt, **{name: value for name, value in options.items() if value is not None}}
        queued = self._call("post", "/generate", json=body)
        return self.wait(queued["task_id"], poll_interval, wait_timeout) if wait else queued

    def status(self, task_id: str) -> dict[str, Any]:
        return self._call("get", f"/status/{task_id}")

    def result(self, task_id: str) -> dict[str, Any]:
        """The completed result, or the still-pending shape; raises TaskFailedError for a failed task and
        TaskCancelledError for a cancelled one."""
        found = self._call("get", f"/result/{task_id}")
        if found["status"] == "error":
            raise TaskFailedError(task_id, found["error_type"], found["error_message"])
        if found["status"] == "cancelled":
            raise TaskCancelledError(task_id)
        return found

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancels the task: a waiting one is `cancelled` at once, a running one stops at the next step."""
        return self._call("post", f"/cancel/{task_id}")

    def wait(self, task_id: str, poll_interval: float = 0.5, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.result(task_id)
            if found["status"] == "completed":
                return found
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {found['status']} after {timeout}s")
            time.sleep(poll_interval)

    def stream(self, task_id: str) -> Iterator[dict[str, Any]]:
        """The task's events as they come (each has `status` and `message`; `delta` while generating), up
        to and including the final one. A dropped connection is resumed where it stopped."""
        last_id: str | None = None
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with self.session.get(
                    f"{self.base_url}/stream/{task_id}", headers=headers, stream=True, timeout=self.timeout
                ) as response:
                    self._raise_for(response)
                    for event_id, event in _parse_sse(response.iter_lines(decode_unicode=True)):
                        last_id = event_id or last_id
                        yield event
                        if event["status"] in ("completed", "failed", "cancelled"):
                            return
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                time.sleep(0.5)  # the server went away mid-stream: reconnect from the last event seen

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        self._raise_for(response)
        return response.json()  # type: ignore[no-any-return]

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text}
        message, code = body.get("error", response.reason), response.status_code
        retry_after = float(response.headers.get("Retry-After", "1"))
        if code in (400, 413):
            raise InvalidRequestError(message, code, body)
        if code == 401:
            raise AuthenticationError(message, code, body)
        if code == 404:
            raise TaskNotFoundError(message, code, body)
        if code == 429:
            raise RateLimitError(message, code, body, retry_after)
        if code == 503:
            raise ServiceUnavailableError(message, code, body, retry_after)
        raise LLMError(message, code, body)


def _parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    event_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield event_id, json.loads("\n".join(data))
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate once and print the text and its metrics.")
    parser.add_argument("prompt", nargs="?", default="Write a haiku about programming")
    parser.add_argument("--url", default="http://localhost:8000")
    parser.add_argument("--key", default="test-key-123")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    client = LLMClient(base_url=args.url, api_key=args.key)
    result = client.generate(prompt=args.prompt, max_tokens=args.max_tokens, temperature=0.8, wait=True)
    print(f"Task: {result['task_id']}\n\nResult:\n{result['result']}\n\nMetrics:")
    for name, value in result["metrics"].items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
