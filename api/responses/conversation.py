"""What a response asks the model: its instructions, the conversation of the response it continues
(`previous_response_id`: that one's own conversation, input and answer, rebuilt from its stored record), then
its input; and what its record keeps for the next one."""

from __future__ import annotations

from typing import Any

from contract.statuses import TaskStatus

from ..http.errors import ApiError
from .protocol import ResponseCreateRequest
from .records import owned_response


def conversation(parsed: ResponseCreateRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the chat messages to run, what the response's record keeps)."""
    history = _history(parsed.previous_response_id) if parsed.previous_response_id else []
    given = [message.for_template() for message in parsed.messages()]
    system = [{"role": "system", "content": parsed.instructions}] if parsed.instructions else []
    kept = {
        "instructions": parsed.instructions,
        "previous_response_id": parsed.previous_response_id,
        "max_output_tokens": parsed.max_output_tokens,
        "background": parsed.background,
        "metadata": parsed.metadata or {},
        "history": history,
        "input": given,
    }
    return system + history + given, kept


def _history(previous_id: str) -> list[dict[str, Any]]:
    """The earlier response's conversation without its instructions (OpenAI does not carry them over)."""
    previous = owned_response(previous_id, field="previous_response_id")
    if previous.status is not TaskStatus.COMPLETED:
        raise ApiError(
            400,
            f"Invalid previous_response_id: that response is {previous.status.value}; only a completed one continues",
            field="previous_response_id",
        )
    kept = previous.response or {}
    return [*kept.get("history", []), *kept.get("input", []), {"role": "assistant", "content": previous.result or ""}]
