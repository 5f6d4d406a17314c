"""How an embedding travels from the worker to the api: float32 little-endian, base64-encoded, in the task's
completed event. It is exactly what OpenAI's `encoding_format: "base64"` answers, so that answer is passed on
as it is, and a vector costs 4 bytes a dimension in Redis rather than JSON's ~20."""

from __future__ import annotations

import base64
import struct


def encode(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def decode(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))
