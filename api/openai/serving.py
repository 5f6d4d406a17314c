"""OpenAI's response shapes for a request's choices (one task each): the whole completion, or its stream of
chunks, each choice with its own index."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contract import refusals
from contract.error_kinds import ErrorKind
from contract.task_params import TaskParams

from ..http.errors import ApiError, openai_error
from . import logprobs as openai_logprobs
from .tools import ToolMode, held_back, tool_calls


@dataclass(frozen=True)
class Choice:
    index: int
    params: TaskParams
    echo: bool = False
    """completions' echo: the prompt goes before the output (and its logprobs before the output's)"""
    first_of_prompt: bool = True
    """its prompt's tokens count in usage (n choices of one prompt count them once, as vLLM does)"""


@dataclass(frozen=True)
class Shape:
    chat: bool
    logprobs: bool = False
    tools: ToolMode = ToolMode("off")


class Reply:
    def __init__(self, task_id: str, model: str, shape: Shape, choices: list[Choice]) -> None:
        self.shape = shape
        self.choices = choices
        chat = shape.chat
        self.head = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{task_id}", "created": int(time.time()), "model": model}
        self.kind = "chat.completion" if chat else "text_completion"

    def whole(self, finals: list[dict[str, Any]]) -> dict[str, Any]:
        choices = [self._whole_choice(choice, final) for choice, final in zip(self.choices, finals, strict=True)]
        return {**self.head, "object": self.kind, "choices": choices, "usage": self.usage(finals)}

    def _whole_choice(self, choice: Choice, final: dict[str, Any]) -> dict[str, Any]:
        finish = final["metrics"].get("finish_reason") or "length"
        if not self.shape.chat:
            text = echoed(choice, final) + final["result"]
            return {
                "index": choice.index,
                "text": text,
                "logprobs": self.logprobs(choice, final),
                "finish_reason": finish,
            }
        content, calls = tool_calls(self.shape.tools, final["result"])
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        return {
            "index": choice.index,
            "message": message,
            "logprobs": self.logprobs(choice, final),
            "finish_reason": "tool_calls" if calls else finish,
        }

    def logprobs(self, choice: Choice, final: dict[str, Any]) -> dict[str, Any] | None:
        if not self.shape.logprobs:
            return None
        found = final.get("logprobs") or {}
        if self.shape.chat:
            return openai_logprobs.chat(found.get("tokens", []))
        entries = (found.get("prompt", []) if choice.echo else []) + found.get("tokens", [])
        return openai_logprobs.completion(entries)

    def usage(self, finals: list[dict[str, Any]]) -> dict[str, int]:
        prompt = sum(
            int(final["metrics"].get("prompt_tokens", 0))
            for choice, final in zip(self.choices, finals, strict=True)
            if choice.first_of_prompt
        )
        completion = sum(int(final["metrics"].get("completion_tokens", 0)) for final in finals)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def chunk(self, index: int, delta: Any, finish_reason: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        if self.shape.chat:
            choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
            return {**self.head, "object": "chat.completion.chunk", "choices": [choice]}
        choice = {"index": index, "text": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        return {**self.head, "object": "text_completion", "choices": [choice]}

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        kind = "chat.completion.chunk" if self.shape.chat else "text_completion"
        return {**self.head, "object": kind, "choices": [], "usage": usage}


def echoed(choice: Choice, final: dict[str, Any]) -> str:
    """The prompt's text for echo: the prompt itself, or for token ids the worker's decoded prompt tokens."""
    if not choice.echo:
        return ""
    if choice.params.prompt is not None:
        return choice.params.prompt
    return "".join(entry["token"] for entry in (final.get("logprobs") or {}).get("prompt", []))


class ChoiceStream:
    """One choice's chunks from its task's events. When a worker was lost and generation started over
    (`restarted`), the text already sent is not sent again: the new deltas are checked against it and only
    what goes past it is sent; if the new text differs (sampling), the stream ends with an error instead.
    With tools, text that may be a tool call is held back until the end, when the calls are parsed."""

    def __init__(self, reply: Reply, choice: Choice) -> None:
        self.reply, self.choice = reply, choice
        self.text = ""  # all the text generated so far (this attempt's, once past the replay)
        self.shown = 0  # how much of it has gone out
        self.replay: str | None = None  # the new attempt's text while it is still within what was generated
        self.usage: dict[str, int] | None = None

    def first(self) -> Iterator[dict[str, Any]]:
        if self.reply.shape.chat:
            yield self._chunk({"role": "assistant", "content": ""})
        else:
            yield self._chunk(self.choice.params.prompt if self.choice.echo and self.choice.params.prompt else "")

    def feed(self, event: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Chunks for one event; raises ApiError for a failed task or a restart that diverged."""
        if event.get("usage"):
            self.usage = event["usage"]
        if event.get("restarted") and self.text:
            self.replay = ""
        elif event.get("delta"):
            yield from self._delta(event["delta"])
        elif event["status"] == "completed":
            yield from self._end(event)
        elif event["status"] == "failed":
            raise failure(event)

    def _delta(self, delta: str) -> Iterator[dict[str, Any]]:
        if self.replay is not None:
            self.replay += delta
            if not (self.text.startswith(self.replay) or self.replay.startswith(self.text)):
                raise ApiError(500, "generation restarted with different text", code="restarted")
            if len(self.replay) <= len(self.text):
                return
            delta, self.replay = self.replay[len(self.text) :], None
        self.text += delta
        mode = self.reply.shape.tools
        if not mode.streams_text:
            return
        upto = len(self.text) - (held_back(self.text) if mode.kind == "auto" else 0)
        if upto > self.shown:
            yield self._chunk(self._content(self.text[self.shown : upto]))
            self.shown = upto

    def _end(self, event: dict[str, Any]) -> Iterator[dict[str, Any]]:
        finish = event["metrics"].get("finish_reason") or "length"
        text = event.get("result") or self.text
        if self.reply.shape.chat:
            content, calls = tool_calls(self.reply.shape.tools, text)
            rest = (content or "")[self.shown :] if (content or "").startswith(text[: self.shown]) else ""
            if rest:
                yield self._chunk({"content": rest})
            if calls:
                finish = "tool_calls"
                yield self._chunk({"tool_calls": [{"index": i, **call} for i, call in enumerate(calls)]})
        elif len(text) > self.shown:
            yield self._chunk(text[self.shown :])
        self.usage = _final_usage(event)
        yield self._chunk({} if self.reply.shape.chat else "", finish, self.reply.logprobs(self.choice, event))

    def _content(self, text: str) -> Any:
        return {"content": text} if self.reply.shape.chat else text

    def _chunk(self, delta: Any, finish_reason: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        return self.reply.chunk(self.choice.index, delta, finish_reason, logprobs)


def _final_usage(event: dict[str, Any]) -> dict[str, int]:
    prompt, completion = (
        int(event["metrics"].get("prompt_tokens", 0)),
        int(event["metrics"].get("completion_tokens", 0)),
    )
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def failure(event: dict[str, Any]) -> ApiError:
    kind, message = event.get("error_type") or "Error", event.get("error_message") or "generation failed"
    if kind == ErrorKind.CONTEXT_LENGTH:
        return ApiError(400, message, field="max_tokens", code="context_length_exceeded")
    if kind == ErrorKind.REFUSED:
        field, why = refusals.parse(message)
        return ApiError(400, f"Invalid {field}: {why}", field=field)
    return ApiError(504 if kind == ErrorKind.TIMEOUT else 500, f"{kind}: {message}", code=kind)


def error_chunk(error: ApiError) -> dict[str, Any]:
    """A failure after the stream began: OpenAI's error object as one more event before [DONE]."""
    return openai_error(error.status_code, error.message, error.details)
