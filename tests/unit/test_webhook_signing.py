"""Webhook signatures check out with both verifiers receivers use: the Standard Webhooks library and the
openai client's `webhooks.verify_signature`, for a plain secret and for one written `whsec_<base64>`."""

from __future__ import annotations

import base64
import time

import openai
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.webhooks import signing
from api.webhooks.events import event_body

PLAIN = "a-plain-shared-secret"
PREFIXED = "whsec_" + base64.b64encode(b"thirty-two bytes of signing key!").decode()


@pytest.mark.parametrize("secret", [PLAIN, PREFIXED], ids=["plain", "whsec"])
def test_both_verifiers_accept_a_signed_event_and_refuse_a_changed_one(secret: str) -> None:
    body = event_body("evt_batch_1", "batch.completed", {"id": "batch_1", "object": "batch"})
    headers = signing.headers([secret], "msg_batch_1", int(time.time()), body)
    standard = Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode())
    assert standard.verify(body, headers)["data"]["id"] == "batch_1"
    client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9", webhook_secret=secret)
    assert client.webhooks.unwrap(body, headers).data.id == "batch_1"  # type: ignore[union-attr]
    changed = body.replace("batch_1", "batch_2")
    with pytest.raises(WebhookVerificationError):
        standard.verify(changed, headers)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(changed, headers)


def test_each_key_has_its_own_secret_and_a_rotation_signs_with_both() -> None:
    old, new = signing.key_secret(PLAIN, "key-a"), signing.key_secret(PREFIXED, "key-a")
    assert old.startswith("whsec_") and old != signing.key_secret(PLAIN, "key-b") and old != new
    assert signing.key_secret(PLAIN, "key-a") == old  # derived: the same every time, in every process
    body = event_body("evt_task_1", "task.completed", {"status": "completed"})
    headers = signing.headers([new, old], "msg_task_1", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):  # a receiver on either secret accepts it while the rotation lasts
        assert Webhook(secret).verify(body, headers)["type"] == "task.completed"
        client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9", webhook_secret=secret)
        client.webhooks.verify_signature(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.key_secret(PLAIN, "key-b")).verify(body, headers)
