"""Each model's tokenizer, published by its workers for the api: the api counts prompt tokens against
tenants' token budgets with the `tokenizers` library on it, and so needs neither torch nor the model's files.
Stored as the JSON `tokenizers` serializes, overwritten by every worker that starts (the same for each)."""

from __future__ import annotations

import redis

from .names import tokenizer_key


def publish(client: redis.Redis, model: str, tokenizer_json: str) -> None:
    client.set(tokenizer_key(model), tokenizer_json)


def read(client: redis.Redis, model: str) -> str | None:
    found: str | None = client.get(tokenizer_key(model))  # type: ignore[assignment]
    return found
