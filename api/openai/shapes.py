"""OpenAI's response objects, as the /v1 routes send them and /openapi.json documents them: one model each,
so a body and its schema cannot drift apart."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer


class OpenAIObject(BaseModel):
    """Every key is sent, null included (OpenAI's clients read `"logprobs": null`), except those in
    `omitted_when_none`, which OpenAI leaves out where they do not apply."""

    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None or key not in self.omitted_when_none}

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PromptTokensDetails(OpenAIObject):
    cached_tokens: int = Field(description="prompt tokens taken from the worker's prefix cache, not computed")


class Usage(OpenAIObject):
    omitted_when_none = frozenset({"prompt_tokens_details"})
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = Field(
        None, description="absent where the engine does not tell (the paged engine)"
    )

    @classmethod
    def of(cls, prompt: int, completion: int, cached: int | None = None) -> Usage:
        """The one place a total is made."""
        details = None if cached is None else PromptTokensDetails(cached_tokens=cached)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            prompt_tokens_details=details,
        )


class Model(OpenAIObject):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "llm-service"


class ModelList(OpenAIObject):
    object: Literal["list"] = "list"
    data: list[Model]


class FunctionCall(OpenAIObject):
    name: str
    arguments: str
    """the arguments as a JSON text"""


class ToolCall(OpenAIObject):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionCallDelta(OpenAIObject):
    omitted_when_none = frozenset({"name"})

    name: str | None = None
    """in a call's first delta only"""
    arguments: str
    """the next piece of the arguments' JSON text"""


class ToolCallDelta(OpenAIObject):
    """A tool call in a stream: its first delta has its id, type and name; the next ones more of its
    arguments."""

    omitted_when_none = frozenset({"id", "type"})

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallDelta


class TopLogprob(OpenAIObject):
    token: str
    logprob: float | None
    bytes: list[int]


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChatLogprobs(OpenAIObject):
    content: list[TokenLogprob]


class CompletionLogprobs(OpenAIObject):
    """The legacy shape: parallel lists, one entry per token; the first prompt token of an echo has none."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class ChatMessage(OpenAIObject):
    omitted_when_none = frozenset({"tool_calls"})

    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(OpenAIObject):
    index: int
    message: ChatMessage
    logprobs: ChatLogprobs | None
    finish_reason: str


class CompletionChoice(OpenAIObject):
    index: int
    text: str
    logprobs: CompletionLogprobs | None
    finish_reason: str


class _Head(OpenAIObject):
    id: str
    created: int
    model: str


class ChatCompletion(_Head):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    usage: Usage


class Completion(_Head):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]
    usage: Usage


class ChatDelta(OpenAIObject):
    omitted_when_none = frozenset({"role", "content", "tool_calls"})

    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChatChunkChoice(OpenAIObject):
    index: int
    delta: ChatDelta
    logprobs: ChatLogprobs | None = None
    finish_reason: str | None = None


class CompletionChunkChoice(OpenAIObject):
    index: int
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None = None


class ChatCompletionChunk(_Head):
    """One event of a streamed chat completion; the last, when usage was asked for, has no choices."""

    omitted_when_none = frozenset({"usage"})

    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class CompletionChunk(_Head):
    omitted_when_none = frozenset({"usage"})

    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChunkChoice]
    usage: Usage | None = None
