"""Chat messages as one prompt, for models (or backends) without a chat template of their own."""

from __future__ import annotations


def plain_chat_template(messages: list[dict[str, str]]) -> str:
    """One "role: content" line each, then the assistant's turn."""
    lines = [f"{message['role']}: {message['content']}" for message in messages]
    return "\n".join([*lines, "assistant:"])
