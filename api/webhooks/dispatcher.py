"""Sends the webhooks that are due, from every api process: claims a few at a time (a lease in Redis), POSTs
each signed body, and on failure (no answer, a non-2xx status, a redirect) tries again later, the wait
doubling from WEBHOOK_RETRY_SECONDS up to WEBHOOK_RETRY_MAX_SECONDS, until WEBHOOK_MAX_ATTEMPTS.

A receiver cannot hold a process: the request goes to the address that was checked (targets.py), only the
status line and headers are read (never the body), and the whole attempt has a deadline of twice
WEBHOOK_TIMEOUT (under Gunicorn's gevent workers, where the dispatcher runs). An attempt is counted before
it is made, so a process that dies mid-attempt cannot let the next one retry past WEBHOOK_MAX_ATTEMPTS."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import gevent
import redis
import requests
from requests.adapters import HTTPAdapter

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
        self.pool = ThreadPoolExecutor(settings.webhook_concurrency, thread_name_prefix="webhook")
        self.background = BackgroundLoop("webhooks", self.send_due, INTERVAL_SECONDS)

    def ensure_running(self) -> None:
        self.background.ensure_running()

    def send_due(self) -> int:
        """Claims up to WEBHOOK_CONCURRENCY deliveries, at most one per key, and attempts them at once: a
        slow receiver holds one place, not the others' webhooks. The lease covers one attempt (connecting and
        reading each take up to WEBHOOK_TIMEOUT), so no other process sends it meanwhile."""
        lease = self.settings.webhook_timeout * 3 + 5
        due = webhooks.claim(self.client, time.time(), lease, self.settings.webhook_concurrency)
        if len(due) == 1:
            self.attempt(due[0])
        elif due:
            list(self.pool.map(self.attempt, due))
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
        self.client.hset(key, mapping={"attempts": attempts, "last_error": "attempt in progress"})
        outcome = self._post(delivery_id, found["url"], body, found.get("owner", ""))
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

    def _post(self, delivery_id: str, url: str, body: str, owner: str = "") -> str | None:
        """None when delivered; otherwise what went wrong."""
        why = targets.refusal(url, self.settings)
        target = targets.parse(url)
        if why is not None or isinstance(target, str):
            return f"refused: {why or target}"
        addresses = targets.resolve(target, self.settings)
        if isinstance(addresses, str):
            return f"refused: {addresses}"
        headers = signing.headers(self._secrets(owner), delivery_id, int(time.time()), body)
        headers["Host"] = target.host_header
        timeout = self.settings.webhook_timeout
        outcome = "no address"
        with gevent.Timeout(timeout * 2, False), _pinned_session(target) as session:
            for address in addresses:  # the next one only when one refuses the connection, as a resolver's user does
                outcome = _posted(session, target.pinned(address), body, headers, timeout)
                if outcome != "ConnectionError":
                    return outcome or None
            return outcome
        return "TimeoutError"  # the deadline of the whole attempt

    def _secrets(self, owner: str) -> list[str]:
        """The owner's signing secret, and while WEBHOOK_SECRET is being rotated the one before it too. (A
        delivery scheduled before deliveries named their owner is signed with WEBHOOK_SECRET itself.)"""
        masters = [self.settings.webhook_secret, self.settings.webhook_previous_secret]
        return [signing.key_secret(master, owner) if owner else master for master in masters if master]

    def _end(self, delivery_id: str, outcome: str, detail: str) -> None:
        state = "delivered" if outcome == "delivered" else "given_up"
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(webhooks.delivery_key(delivery_id), "state", state)  # kept: a second end is not announced
            pipe.zrem(webhooks.DUE_KEY, delivery_id)
            pipe.execute()
        WEBHOOK_ATTEMPTS.labels(outcome).inc()
        log = logger.info if state == "delivered" else logger.error
        log("webhook %s %s %s", delivery_id, state, detail)


class _PinnedTLS(HTTPAdapter):
    """TLS to an address, with the name the URL gave in SNI and checked against the certificate."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def _pinned_session(target: targets.Target) -> requests.Session:
    session = requests.Session()
    if target.scheme == "https":
        session.mount("https://", _PinnedTLS(target.host))
    return session


def _posted(session: requests.Session, url: str, body: str, headers: dict[str, str], timeout: float) -> str:
    """ "" when the receiver answered 2xx; otherwise what went wrong."""
    try:
        answer = session.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,  # the status is all that matters: the body is never read
        )
        answer.close()
    except requests.RequestException as error:
        return type(error).__name__  # its text holds the URL, whose path or query may carry a secret
    return "" if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
