"""OpenAI's response shapes for one task: the whole completion, or its stream of chunks."""

from __future__ import annotations

import time
from typing import Any

from .errors import ApiError, openai_error


class Reply:
    def __init__(self, task_id: str, model: str, *, chat: bool) -> None:
        self.chat = chat
        self.head = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{task_id}", "created": int(time.time()), "model": model}

    def whole(self, text: str, metrics: dict[str, Any]) -> dict[str, Any]:
        finish = metrics.get("finish_reason") or "length"
        choice: dict[str, Any] = (
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            if self.chat
            else {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        )
        kind = "chat.completion" if self.chat else "text_completion"
        return {**self.head, "object": kind, "choices": [choice], "usage": usage(metrics)}

    def first_chunk(self) -> dict[str, Any]:
        return self._chunk({"role": "assistant", "content": ""} if self.chat else "", None)

    def delta_chunk(self, text: str) -> dict[str, Any]:
        return self._chunk({"content": text} if self.chat else text, None)

    def last_chunk(self, finish_reason: str) -> dict[str, Any]:
        return self._chunk({} if self.chat else "", finish_reason)

    def usage_chunk(self, metrics: dict[str, Any]) -> dict[str, Any]:
        return {**self._chunk({}, None), "choices": [], "usage": usage(metrics)}

    def _chunk(self, delta: dict[str, Any] | str, finish_reason: str | None) -> dict[str, Any]:
        if self.chat:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**self.head, "object": "chat.completion.chunk", "choices": [choice]}
        choice = {"index": 0, "text": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self.head, "object": "text_completion", "choices": [choice]}


def usage(metrics: dict[str, Any]) -> dict[str, int]:
    prompt, completion = int(metrics.get("prompt_tokens", 0)), int(metrics.get("completion_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def error_chunk(error: ApiError) -> dict[str, Any]:
    """A failure after the stream began: OpenAI's error object as one more event before [DONE]."""
    return openai_error(error.status_code, error.message, error.details)
