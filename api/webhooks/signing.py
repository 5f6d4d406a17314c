"""Signatures as the Standard Webhooks specification has them (standardwebhooks.com), so receivers can check
them with its libraries, or with a few lines of HMAC: the `webhook-signature` header is `v1,` and the
base64 of HMAC-SHA256, keyed with WEBHOOK_SECRET (its UTF-8 bytes), over `{webhook-id}.{webhook-timestamp}.
{body}`. `webhook-id` stays the same on every attempt of one delivery: the receiver's idempotency key.
A secret written `whsec_<base64>` (the form OpenAI and Standard Webhooks hand out) is keyed with the bytes
the base64 stands for, as both their verifiers read it."""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


def key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX)) if secret.startswith(SECRET_PREFIX) else secret.encode()


def headers(secret: str, delivery_id: str, timestamp: int, body: str) -> dict[str, str]:
    signed = f"{delivery_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key(secret), signed, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
