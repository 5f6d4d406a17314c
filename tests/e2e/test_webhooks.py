"""Webhooks: a task's or a batch's end POSTed to its callback_url on loopback, signed (checked with the
Standard Webhooks library), retried after 500s with one idempotency id, refused for hosts not allowed."""

from __future__ import annotations

import functools

import openai
import pytest
import redis
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contract import webhooks

from ..support.batches import chat_line, finished, start_batch
from ..support.stack import (
    API_KEY,
    OTHER_KEY,
    Api,
    Process,
    RedisServer,
    Started,
    sample,
    scrape,
    submit,
    wait_for_final,
    wait_until,
)
from ..support.webhook_receiver import Receiver

SECRET = "webhook-test-secret"
RETRY = {"webhook_secret": SECRET, "webhook_retry_seconds": 0.2, "webhook_max_attempts": 4}


@pytest.fixture(scope="module")
def stack(module_started: Started, redis_server: RedisServer, model_settings: dict[str, object]) -> tuple[Api, Process]:
    url = redis_server.url(db=2)
    redis.Redis.from_url(url).flushdb()
    # "localhost" is allowed by name on any port, and the loopback addresses it resolves to by address (an
    # internal address needs an entry of its own: tests/integration/test_webhook_dispatcher.py)
    allowed = "localhost,127.0.0.1,::1"
    api = module_started.api(
        url, api_keys=f"{API_KEY},{OTHER_KEY}", webhook_allowed_hosts=allowed, **RETRY, **model_settings
    )
    return api, module_started.worker(url, **model_settings)


def settled(redis_server: RedisServer, delivery_id: str) -> str:
    """Waits for a delivery's last word in Redis (delivered, or given up) and its removal from the due set:
    from then on no process sends it again, so what the receiver has is all it will ever get."""
    client = redis.Redis.from_url(redis_server.url(db=2), decode_responses=True)
    key = webhooks.delivery_key(delivery_id)

    def ended() -> bool:
        return (
            client.hget(key, "state") in ("delivered", "given_up")
            and client.zscore(webhooks.DUE_KEY, delivery_id) is None
        )

    wait_until(ended, 30, f"webhook {delivery_id} to end")
    return str(client.hget(key, "state"))


def local(receiver: Receiver, path: str) -> str:
    return receiver.url(path).replace("127.0.0.1", "localhost")


@functools.cache
def key_secret(api_url: str, key: str = API_KEY) -> str:
    """The key's own signing secret, as its owner reads it."""
    response = requests.get(f"{api_url}/webhook-secret", headers={"X-API-Key": key}, timeout=10)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


def openai_client(api: Api) -> openai.OpenAI:
    """Only for its webhook checks (no request is made)."""
    return openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9", webhook_secret=key_secret(api.base_url))


def verified(api: Api, received: object) -> dict[str, object]:
    found = received  # a Received
    return Webhook(key_secret(api.base_url)).verify(found.body, found.headers)  # type: ignore[attr-defined,no-any-return]


def test_a_task_webhook_is_retried_after_500s_signed_and_with_one_id(
    stack: tuple[Api, Process], redis_server: RedisServer
) -> None:
    api, _ = stack
    with Receiver(failures=2) as receiver:
        # Given a receiver that fails twice, when a task with a callback ends
        task_id = submit(api, prompt="tell me", max_tokens=4, temperature=0, callback_url=local(receiver, "/task"))
        final = wait_for_final(api, task_id)
        # Then it is POSTed three times, the same id and body each time, the last one taken
        attempts = receiver.on("/task", 3)
        assert settled(redis_server, webhooks.task_delivery_id(task_id)) == "delivered"  # no fourth attempt
        assert len([r for r in receiver.received if r.path == "/task"]) == 3
        assert {r.headers["webhook-id"] for r in attempts} == {f"msg_task_{task_id}"}
        assert len({r.body for r in attempts}) == 1
        # and the body is an event in OpenAI's shape holding the task's result, as GET /result gives it, signed
        # as Standard Webhooks sign (which the openai client's own check accepts too)
        payload = verified(api, attempts[-1])
        assert payload == {
            "id": f"evt_task_{task_id}",
            "object": "event",
            "created_at": payload["created_at"],
            "type": "task.completed",
            "data": final,
        }
        openai_client(api).webhooks.verify_signature(attempts[-1].body, attempts[-1].headers)
        # a body changed in transit fails the check
        forged = attempts[-1].body.replace("completed", "failed")
        with pytest.raises(WebhookVerificationError):
            Webhook(key_secret(api.base_url)).verify(forged, attempts[-1].headers)
        # and the secret is this key's own: neither WEBHOOK_SECRET itself nor another key's checks it
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET.encode()).verify(attempts[-1].body, attempts[-1].headers)
        assert key_secret(api.base_url, OTHER_KEY) != key_secret(api.base_url)
        with pytest.raises(WebhookVerificationError):
            Webhook(key_secret(api.base_url, OTHER_KEY)).verify(attempts[-1].body, attempts[-1].headers)


def test_a_failed_task_is_announced_too(stack: tuple[Api, Process]) -> None:
    api, _ = stack
    with Receiver() as receiver:
        task_id = submit(api, prompt="x", max_tokens=4, logit_bias={"99999999": 1}, callback_url=local(receiver, "/f"))
        assert wait_for_final(api, task_id)["status"] == "error"
        payload = verified(api, receiver.on("/f", 1)[0])
        assert payload["type"] == "task.failed" and payload["data"]["error_type"] == "InvalidRequestError"  # type: ignore[index]


def test_a_receiver_that_keeps_failing_is_given_up_after_the_attempts_allowed(
    stack: tuple[Api, Process], redis_server: RedisServer
) -> None:
    api, _ = stack
    given_up = sample(scrape(api.url("/metrics")), "llm_service:webhook_attempts_total", outcome="given_up")
    with Receiver(failures=100) as receiver:
        task_id = submit(api, prompt="nobody home", max_tokens=2, callback_url=local(receiver, "/down"))
        receiver.on("/down", RETRY["webhook_max_attempts"])  # type: ignore[arg-type]
        assert settled(redis_server, webhooks.task_delivery_id(task_id)) == "given_up"
        assert len([r for r in receiver.received if r.path == "/down"]) == RETRY["webhook_max_attempts"]
    after = sample(scrape(api.url("/metrics")), "llm_service:webhook_attempts_total", outcome="given_up")
    assert after == given_up + 1


def test_a_batch_webhook_carries_the_batch_as_it_ended(stack: tuple[Api, Process]) -> None:
    api, _ = stack
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    with Receiver(failures=1) as receiver:
        callback = local(receiver, "/batch")
        batch = start_batch(client, [chat_line(f"w-{i}", "hi") for i in range(3)], metadata={"callback_url": callback})
        done = finished(client, batch.id, 60)
        attempts = receiver.on("/batch", 2)
        payload = verified(api, attempts[-1])
        assert payload["type"] == "batch.completed"
        # which the openai client unwraps as OpenAI's own batch event
        event = openai_client(api).webhooks.unwrap(attempts[-1].body, attempts[-1].headers)
        assert (event.type, event.data.id, event.id) == ("batch.completed", batch.id, f"evt_{batch.id}")
        as_read = requests.get(api.url(f"/v1/batches/{batch.id}"), headers={"X-API-Key": API_KEY}, timeout=10).json()
        assert payload["data"] == as_read and as_read["status"] == done.status
        assert as_read["request_counts"]["completed"] == 3


def test_a_response_webhook_is_openais_response_event(stack: tuple[Api, Process]) -> None:
    api, _ = stack
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    with Receiver() as receiver:
        # Given a background response that ends, and one cancelled while it waits or runs
        done = client.responses.create(
            input="hi", background=True, max_output_tokens=4, metadata={"callback_url": local(receiver, "/done")}
        )
        cancelled = client.responses.create(
            input="long",
            background=True,
            max_output_tokens=1000,
            temperature=0,
            metadata={"callback_url": local(receiver, "/cancelled")},
        )
        client.responses.cancel(cancelled.id)
        # Then each is announced with OpenAI's event, which the openai client unwraps
        ended = openai_client(api).webhooks.unwrap(receiver.on("/done", 1)[0].body, receiver.on("/done", 1)[0].headers)
        assert ended.type in ("response.completed", "response.incomplete") and ended.data.id == done.id
        stopped = receiver.on("/cancelled", 1)[0]
        event = openai_client(api).webhooks.unwrap(stopped.body, stopped.headers)
        assert (event.type, event.data.id) == ("response.cancelled", cancelled.id)
    # and a callback to a host not allowed is refused, naming it
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(input="x", background=True, metadata={"callback_url": "http://10.0.0.1:9/x"})
    assert refused.value.body["param"] == "metadata.callback_url"  # type: ignore[index]


@pytest.mark.parametrize(
    ("callback", "why"),
    [
        ("http://10.0.0.1:9/x", "not allowed by WEBHOOK_ALLOWED_HOSTS"),
        ("http://169.254.169.254/latest/meta-data", "not allowed by WEBHOOK_ALLOWED_HOSTS"),
        ("ftp://localhost/x", "http:// or https://"),
        ("http://user:pw@localhost/x", "credentials"),
        ("localhost/x", "http:// or https://"),
    ],
)
def test_a_batch_callback_to_a_host_not_allowed_is_refused(stack: tuple[Api, Process], callback: str, why: str) -> None:
    # (the same refusal on /generate, where nothing is queued: tests/api's test_validation)
    api, _ = stack
    client = openai.OpenAI(base_url=api.url("/v1"), api_key=API_KEY, max_retries=0, timeout=60)
    with pytest.raises(openai.BadRequestError, match="metadata.callback_url") as refused:
        start_batch(client, [chat_line("x", "y")], metadata={"callback_url": callback})
    assert why in str(refused.value)
