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

from ..http.errors import ApiError, OpenAIErrorBody, openai_error
from . import logprobs as openai_logprobs
from .shapes import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatDelta,
    ChatLogprobs,
    ChatMessage,
    Completion,
    CompletionChoice,
    CompletionChunk,
    CompletionChunkChoice,
    CompletionLogprobs,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from .tool_stream import CallStreamer
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


Chunk = ChatCompletionChunk | CompletionChunk


class Reply:
    def __init__(self, task_id: str, model: str, shape: Shape, choices: list[Choice]) -> None:
        self.shape = shape
        self.choices = choices
        chat = shape.chat
        self.head = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{task_id}", "created": int(time.time()), "model": model}

    def whole(self, finals: list[dict[str, Any]]) -> ChatCompletion | Completion:
        pairs = zip(self.choices, finals, strict=True)
        if self.shape.chat:
            chat = [self._chat_choice(choice, final) for choice, final in pairs]
            return ChatCompletion(**self.head, choices=chat, usage=self.usage(finals))
        plain = [self._completion_choice(choice, final) for choice, final in pairs]
        return Completion(**self.head, choices=plain, usage=self.usage(finals))

    def _completion_choice(self, choice: Choice, final: dict[str, Any]) -> CompletionChoice:
        text = echoed(choice, final) + final["result"]
        logprobs = self._completion_logprobs(choice, final)
        return CompletionChoice(index=choice.index, text=text, logprobs=logprobs, finish_reason=_finish(final))

    def _chat_choice(self, choice: Choice, final: dict[str, Any]) -> ChatChoice:
        content, calls = tool_calls(self.shape.tools, final["result"])
        message = ChatMessage(content=content, tool_calls=[ToolCall(**call) for call in calls] or None)
        finish = "tool_calls" if calls else _finish(final)
        logprobs = self._chat_logprobs(final)
        return ChatChoice(index=choice.index, message=message, logprobs=logprobs, finish_reason=finish)

    def logprobs(self, choice: Choice, final: dict[str, Any]) -> ChatLogprobs | CompletionLogprobs | None:
        return self._chat_logprobs(final) if self.shape.chat else self._completion_logprobs(choice, final)

    def _chat_logprobs(self, final: dict[str, Any]) -> ChatLogprobs | None:
        found = final.get("logprobs") or {}
        return openai_logprobs.chat(found.get("tokens", [])) if self.shape.logprobs else None

    def _completion_logprobs(self, choice: Choice, final: dict[str, Any]) -> CompletionLogprobs | None:
        if not self.shape.logprobs:
            return None
        found = final.get("logprobs") or {}
        return openai_logprobs.completion((found.get("prompt", []) if choice.echo else []) + found.get("tokens", []))

    def usage(self, finals: list[dict[str, Any]]) -> Usage:
        pairs = zip(self.choices, finals, strict=True)
        counted = [final for choice, final in pairs if choice.first_of_prompt]
        prompt = sum(_count(final, "prompt_tokens") for final in counted)
        return Usage.of(prompt, sum(_count(final, "completion_tokens") for final in finals), _cached(counted))

    def chunk(
        self, index: int, delta: str | ChatDelta, finish_reason: str | None = None, logprobs: Any = None
    ) -> Chunk:
        if isinstance(delta, ChatDelta):
            chat = ChatChunkChoice(index=index, delta=delta, logprobs=logprobs, finish_reason=finish_reason)
            return ChatCompletionChunk(**self.head, choices=[chat])
        plain = CompletionChunkChoice(index=index, text=delta, logprobs=logprobs, finish_reason=finish_reason)
        return CompletionChunk(**self.head, choices=[plain])

    def usage_chunk(self, usage: Usage) -> Chunk:
        kind = ChatCompletionChunk if self.shape.chat else CompletionChunk
        return kind(**self.head, choices=[], usage=usage)


def _finish(final: dict[str, Any]) -> str:
    return str(final["metrics"].get("finish_reason") or "length")


def _count(event: dict[str, Any], name: str) -> int:
    return int(event["metrics"].get(name, 0))


def _cached(finals: list[dict[str, Any]]) -> int | None:
    """Prompt tokens the workers took from their prefix caches; None when no worker told."""
    found = [final["metrics"]["cached_tokens"] for final in finals if "cached_tokens" in final["metrics"]]
    return sum(found) if found else None


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
    With tools, text that may be a tool call is not sent as content; each call is streamed as it is
    generated (tool_stream.py), and completed from the finished output's parse.

    Log-probabilities, when asked for, go with the chunk that carries their tokens' text (as vLLM streams
    them); those of text held back, with the last chunk (all of them with an echo, whose prompt's come
    first and are known only at the end)."""

    def __init__(self, reply: Reply, choice: Choice) -> None:
        self.reply, self.choice = reply, choice
        self.text = ""  # all the text generated so far (this attempt's, once past the replay)
        self.shown = 0  # how much of it has gone out
        self.replay: str | None = None  # the new attempt's text while it is still within what was generated
        self.usage: Usage | None = None
        self.entries: list[dict[str, Any]] = []  # logprobs received and not yet sent
        self.taken = 0  # logprobs received in all (not counting an attempt's repeats)
        self.this_attempt = 0  # logprobs received from the current attempt
        self.sent_entries = 0  # logprobs sent in chunks
        self.offset = 0  # completions' text_offset of the next token sent
        tools = reply.shape.tools
        self.calls = CallStreamer(tools) if reply.shape.chat and tools.kind != "off" else None

    def first(self) -> Iterator[Chunk]:
        if self.reply.shape.chat:
            yield self._chunk(ChatDelta(role="assistant", content=""))
        else:
            yield self._chunk(self.choice.params.prompt if self.choice.echo and self.choice.params.prompt else "")

    def feed(self, event: dict[str, Any]) -> Iterator[Chunk]:
        """Chunks for one event; raises ApiError for a failed task or a restart that diverged."""
        if event.get("usage"):
            self.usage = Usage.of(event["usage"]["prompt_tokens"], event["usage"]["completion_tokens"])
        if event.get("restarted"):
            self.this_attempt = 0
        if "delta" in event and event.get("logprobs") and self.reply.shape.logprobs and not self.choice.echo:
            self._receive(event["logprobs"])
        if event.get("restarted") and self.text:
            self.replay = ""
        elif event.get("delta"):
            yield from self._delta(event["delta"])
        elif event["status"] == "completed":
            yield from self._end(event)
        elif event["status"] == "failed":
            raise failure(event)

    def _delta(self, delta: str) -> Iterator[Chunk]:
        if self.replay is not None:
            self.replay += delta
            if not (self.text.startswith(self.replay) or self.replay.startswith(self.text)):
                raise ApiError(500, "generation restarted with different text", code="restarted")
            if len(self.replay) <= len(self.text):
                return
            delta, self.replay = self.replay[len(self.text) :], None
        self.text += delta
        mode = self.reply.shape.tools
        upto = len(self.text) - (held_back(self.text) if mode.kind == "auto" else 0)
        if mode.streams_text and upto > self.shown:
            logprobs, self.entries = self._sent(self.entries), []
            yield self._chunk(self._content(self.text[self.shown : upto]), logprobs=logprobs)
            self.shown = upto
        found = self.calls.feed(self.text) if self.calls is not None else []
        if found:
            logprobs, self.entries = self._sent(self.entries), []
            yield self._chunk(ChatDelta(tool_calls=found), logprobs=logprobs)

    def _end(self, event: dict[str, Any]) -> Iterator[Chunk]:
        finish = _finish(event)
        text = event.get("result") or self.text
        if self.reply.shape.chat:
            streamed = self.calls.feed(text) if self.calls is not None else []
            content, calls = tool_calls(self.reply.shape.tools, text, self.calls.call_id if self.calls else None)
            rest = (content or "")[self.shown :] if (content or "").startswith(text[: self.shown]) else ""
            if rest:
                yield self._chunk(ChatDelta(content=rest))
            found = streamed + self._unstreamed(calls)
            if calls:
                finish = "tool_calls"
            if found:
                yield self._chunk(ChatDelta(tool_calls=found))
        elif len(text) > self.shown:
            yield self._chunk(text[self.shown :])
        self.usage = Usage.of(_count(event, "prompt_tokens"), _count(event, "completion_tokens"), _cached([event]))
        yield self._chunk(ChatDelta() if self.reply.shape.chat else "", finish, self._last_logprobs(event))

    def _unstreamed(self, calls: list[dict[str, Any]]) -> list[ToolCallDelta]:
        """What the finished output's calls add to what was streamed of them: a call not streamed whole, the
        rest of one's arguments if any is missing."""
        found = []
        for index, call in enumerate(calls):
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            sent = self.calls.sent(index) if self.calls is not None else None
            if sent is None:
                function = FunctionCallDelta(name=name, arguments=arguments)
                found.append(ToolCallDelta(index=index, id=call["id"], type="function", function=function))
            elif arguments.startswith(sent) and len(arguments) > len(sent):
                found.append(ToolCallDelta(index=index, function=FunctionCallDelta(arguments=arguments[len(sent) :])))
        return found

    def _receive(self, entries: list[dict[str, Any]]) -> None:
        """New tokens' logprobs; after a restart, only those past what the first attempt gave."""
        fresh = entries[max(0, self.taken - self.this_attempt) :]
        self.this_attempt += len(entries)
        self.taken += len(fresh)
        self.entries += fresh

    def _sent(self, entries: list[dict[str, Any]]) -> ChatLogprobs | CompletionLogprobs | None:
        """These logprobs in the reply's shape, counted as sent (None when there are none)."""
        if not entries:
            return None
        self.sent_entries += len(entries)
        if self.reply.shape.chat:
            return openai_logprobs.chat(entries)
        found = openai_logprobs.completion(entries, self.offset)
        self.offset += sum(len(entry["token"]) for entry in entries)
        return found

    def _last_logprobs(self, event: dict[str, Any]) -> ChatLogprobs | CompletionLogprobs | None:
        """The final event's logprobs, less those already sent (all of them, an echo's prompt first, when
        none was streamed)."""
        if not self.sent_entries:
            return self.reply.logprobs(self.choice, event)
        rest = (event.get("logprobs") or {}).get("tokens", [])[self.sent_entries :]
        return self._sent(rest) if rest else None

    def _content(self, text: str) -> str | ChatDelta:
        return ChatDelta(content=text) if self.reply.shape.chat else text

    def _chunk(self, delta: str | ChatDelta, finish_reason: str | None = None, logprobs: Any = None) -> Chunk:
        return self.reply.chunk(self.choice.index, delta, finish_reason, logprobs)


def failure(event: dict[str, Any]) -> ApiError:
    kind, message = event.get("error_type") or "Error", event.get("error_message") or "generation failed"
    if kind == ErrorKind.CONTEXT_LENGTH:
        return ApiError(400, message, field="max_tokens", code="context_length_exceeded")
    if kind == ErrorKind.REFUSED:
        field, why = refusals.parse(message)
        return ApiError(400, f"Invalid {field}: {why}", field=field)
    return ApiError(504 if kind == ErrorKind.TIMEOUT else 500, f"{kind}: {message}", code=kind)


def error_chunk(error: ApiError) -> OpenAIErrorBody:
    """A failure after the stream began: OpenAI's error object as one more event before [DONE]."""
    return openai_error(error.status_code, error.message, error.details)
