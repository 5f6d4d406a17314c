"""Sends the webhooks that are due, from every api process: claims a few at a time (a lease in Redis), POSTs
each signed body, and on failure (no answer, a non-2xx status, a redirect) tries again later, the wait
doubling from WEBHOOK_RETRY_SECONDS up to WEBHOOK_RETRY_MAX_SECONDS, until WEBHOOK_MAX_ATTEMPTS."""

from __future__ import annotations

import logging
import time

import redis
import requests

from contract import webhooks
from contract.task_store import TaskStore

from ..http.background import BackgroundLoop
from ..http.metrics import WEBHOOK_ATTEMPTS
from ..responses.shapes import ResponseObject
from ..settings import ApiSettings
from ..tasks.records import result_body
from . import signing, targets
from .events import event_body

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 0.2


class Dispatcher:
    def __init__(self, client: redis.Redis, store: TaskStore, settings: ApiSettings) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.session = requests.Session()
        self.background = BackgroundLoop("webhooks", self.send_due, INTERVAL_SECONDS)

    def ensure_running(self) -> None:
        self.background.ensure_running()

    def send_due(self) -> int:
        """Claims one delivery at a time: its lease covers that attempt only (connecting and reading each
        take up to WEBHOOK_TIMEOUT), so no other process sends it meanwhile."""
        lease = self.settings.webhook_timeout * 3 + 5
        due = webhooks.claim(self.client, time.time(), lease, 1)
        for delivery_id in due:
            self.attempt(delivery_id)
        return len(due)

    def attempt(self, delivery_id: str) -> None:
        key = webhooks.delivery_key(delivery_id)
        found: dict[str, str] = self.client.hgetall(key)  # type: ignore[assignment]
        if not found or found.get("state") != "pending":
            self.client.zrem(webhooks.DUE_KEY, delivery_id)
            return
        body = found["body"] or self._render(found)
        if body is None:  # the task's record is gone: nothing left to tell
            self._end(delivery_id, "given_up", "its task record expired")
            return
        if not found["body"]:
            self.client.hset(key, "body", body)  # every attempt sends the same bytes
        attempts = int(found["attempts"]) + 1
        outcome = self._post(delivery_id, found["url"], body)
        if outcome is None:
            self._end(delivery_id, "delivered", f"after {attempts} attempt(s)")
        elif attempts >= self.settings.webhook_max_attempts or outcome.startswith("refused"):
            self._end(delivery_id, "given_up", f"after {attempts} attempt(s): {outcome}")
        else:
            wait = min(
                self.settings.webhook_retry_seconds * 2 ** (attempts - 1), self.settings.webhook_retry_max_seconds
            )
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"attempts": attempts, "last_error": outcome})
                pipe.zadd(webhooks.DUE_KEY, {delivery_id: time.time() + wait})
                pipe.execute()
            WEBHOOK_ATTEMPTS.labels("retrying").inc()
            logger.info("webhook %s: attempt %d failed (%s); next in %.1f s", delivery_id, attempts, outcome, wait)

    def _render(self, found: dict[str, str]) -> str | None:
        record = self.store.get(found["ref"])
        if record is None:
            return None
        if record.response is not None:  # a response: OpenAI's event, with the response object as data
            response = ResponseObject.of(record)
            return event_body(f"evt_{response.id}", f"response.{response.status}", response.model_dump(mode="json"))
        data = result_body(record).model_dump(mode="json", exclude_none=True)
        return event_body(f"evt_task_{record.task_id}", f"task.{record.status.value}", data)

    def _post(self, delivery_id: str, url: str, body: str) -> str | None:
        """None when delivered; otherwise what went wrong."""
        why = targets.refusal(url, self.settings)
        if why is not None:
            return f"refused: {why}"
        headers = signing.headers(self.settings.webhook_secret, delivery_id, int(time.time()), body)
        timeout = self.settings.webhook_timeout
        try:
            answer = self.session.post(
                url, data=body.encode(), headers=headers, timeout=(timeout, timeout), allow_redirects=False
            )
        except requests.RequestException as error:
            return type(error).__name__  # its text holds the URL, whose path or query may carry a secret
        return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"

    def _end(self, delivery_id: str, outcome: str, detail: str) -> None:
        state = "delivered" if outcome == "delivered" else "given_up"
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(webhooks.delivery_key(delivery_id), "state", state)  # kept: a second end is not announced
            pipe.zrem(webhooks.DUE_KEY, delivery_id)
            pipe.execute()
        WEBHOOK_ATTEMPTS.labels(outcome).inc()
        log = logger.info if state == "delivered" else logger.error
        log("webhook %s %s %s", delivery_id, state, detail)
