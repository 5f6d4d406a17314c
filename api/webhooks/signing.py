"""Signatures as the Standard Webhooks specification has them (standardwebhooks.com), so receivers can check
them with its libraries, or with a few lines of HMAC: the `webhook-signature` header is `v1,` and the
base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`. `webhook-id` stays the same on every
attempt of one delivery: the receiver's idempotency key.

Each API key has a signing secret of its own, derived from WEBHOOK_SECRET and the key's id
(`whsec_<base64>`, the form OpenAI and Standard Webhooks hand out; its owner reads it from
GET /webhook-secret): a key's receiver can tell its webhooks from any another key could forge, since no key
learns another's secret or WEBHOOK_SECRET. Rotating WEBHOOK_SECRET rotates every key's; while
WEBHOOK_PREVIOUS_SECRET is set, webhooks carry both signatures (space-separated, as the specification
allows), so receivers can move to the new secret without missing one."""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
DERIVATION = b"llm-service webhook secret for key "


def key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX)) if secret.startswith(SECRET_PREFIX) else secret.encode()


def key_secret(master: str, key_id: str) -> str:
    """The signing secret of one API key (by its id), derived from WEBHOOK_SECRET."""
    derived = hmac.new(key(master), DERIVATION + key_id.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(derived).decode()


def headers(secrets: list[str], delivery_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Standard Webhooks' headers, with one signature for each secret."""
    signed = f"{delivery_id}.{timestamp}.{body}".encode()
    digests = [hmac.new(key(secret), signed, hashlib.sha256).digest() for secret in secrets]
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join("v1," + base64.b64encode(digest).decode() for digest in digests),
    }
