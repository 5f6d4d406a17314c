"""Chat messages as one prompt, for models (or backends) without a chat template of their own."""

from __future__ import annotations

import json
from typing import Any


def plain_chat_template(messages: list[dict[str, Any]]) -> str:
    """One "role: content" line each (an assistant's tool calls as JSON after its content), then the
    assistant's turn. Tool definitions are not shown: a model without a template knows no tool format."""
    lines = [f"{message['role']}: {_content(message)}" for message in messages]
    return "\n".join([*lines, "assistant:"])


def _content(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    calls = [call.get("function", call) for call in message.get("tool_calls") or []]
    return " ".join([str(content), *(json.dumps(call) for call in calls)]) if calls else str(content)
