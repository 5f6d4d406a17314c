"""OpenAI-compatible request bodies (/v1/completions, /v1/chat/completions), validated with pydantic.

OpenAI's parameters this service does not implement are refused by name with 400 (unless at the value that
changes nothing); a field nobody here knows is ignored with a warning in the log, as vLLM does, so a client
that always sends some field of its own never fails on it."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationInfo, field_validator

from contract.task_params import MAX_LOGPROBS

from ..tasks.sampling import Number, SamplingOptions, within_limit

logger = logging.getLogger(__name__)
MAX_CHOICES = 64
"""the most choices one request may ask for (prompts × n): each is a task of its own"""

# OpenAI's parameters this service does not implement, accepted only at values that change nothing.
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "suffix": (None,),
    "functions": (None,),
    "function_call": (None,),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "web_search_options": (None,),
    "reasoning_effort": (None,),
    "store": (None, False),
}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: StrictBool = False
    continuous_usage_stats: StrictBool = Field(False, description="vLLM: usage in every chunk")


class _Common(SamplingOptions):
    model_config = ConfigDict(extra="ignore")  # unsupported() has refused what must not pass silently

    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    stop: StrictStr | list[StrictStr] | None = None
    seed: StrictInt | None = None
    user: StrictStr | None = Field(None, max_length=128)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: StrictInt = Field(1, ge=1, le=MAX_CHOICES, description="choices per prompt")
    best_of: StrictInt | None = Field(None, ge=1, description="only equal to n (no choice is ever discarded)")
    metadata: dict[str, Any] | None = Field(None, description="accepted and ignored")
    service_tier: StrictStr | None = Field(None, description="accepted and ignored")

    @field_validator("stop")
    @classmethod
    def _at_most_four(cls, stop: str | list[str] | None) -> list[str]:
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if len(stops) > 4 or any(not item for item in stops):
            raise ValueError("up to 4 non-empty strings")
        return stops

    @field_validator("max_tokens")
    @classmethod
    def _within_limit(cls, tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(tokens, info)

    @field_validator("best_of")
    @classmethod
    def _best_of_is_n(cls, best_of: int | None, info: ValidationInfo) -> int | None:
        if best_of is not None and best_of != info.data.get("n", 1):
            raise ValueError("must equal n: every generated choice is returned")
        return best_of

    def stop_list(self) -> list[str]:
        return self.stop if isinstance(self.stop, list) else []

    def wanted_tokens(self) -> int | None:
        return self.max_tokens

    def usage_in_every_chunk(self) -> bool:
        return bool(self.stream_options and self.stream_options.continuous_usage_stats)

    def usage_at_end(self) -> bool:
        return bool(self.stream_options and (self.stream_options.include_usage or self.usage_in_every_chunk()))


def unsupported(body: dict[str, Any], model: type[BaseModel]) -> tuple[str, str] | None:
    """(parameter, why) for the first OpenAI parameter this service does not implement, or None. Fields
    nobody here knows are logged and left for the schema to ignore."""
    unknown = [name for name in body if name not in model.model_fields and name not in NEUTRAL]
    if unknown:
        shown = ", ".join(repr(name[:64]) for name in sorted(unknown)[:20])
        logger.warning("ignored %d unknown request field(s): %s", len(unknown), shown)
    for name, value in body.items():
        if name in NEUTRAL and not any(_same(value, neutral) for neutral in NEUTRAL[name]):
            accepted = " or ".join(repr(neutral) for neutral in NEUTRAL[name])
            return name, f"{name}={value!r} is not supported here (only {accepted})"
    return None


def _same(value: Any, neutral: Any) -> bool:
    """Equal, where false is not 0 (JSON tells them apart; Python's == does not)."""
    return bool(value == neutral) and isinstance(value, bool) == isinstance(neutral, bool)


Prompt = StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]


class CompletionRequest(_Common):
    prompt: Prompt
    logprobs: StrictInt | None = Field(None, ge=0, le=MAX_LOGPROBS, description="alternatives per token")
    echo: StrictBool = False

    @field_validator("prompt")
    @classmethod
    def _prompts(cls, prompt: Any) -> Any:
        prompts = _prompt_list(prompt)
        if not prompts:
            raise ValueError("at least one prompt")
        for item in prompts:
            if isinstance(item, str) and not item.strip():
                raise ValueError("a prompt must contain more than whitespace")
            if isinstance(item, tuple) and (not item or min(item) < 0):
                raise ValueError("a token-id prompt is a non-empty list of token ids (not negative)")
        return prompt

    def prompts(self) -> list[str | tuple[int, ...]]:
        """One entry per prompt: its text, or its token ids."""
        return _prompt_list(self.prompt)


def _prompt_list(prompt: Any) -> list[str | tuple[int, ...]]:
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(isinstance(item, int) for item in prompt):
        return [tuple(prompt)]
    return [item if isinstance(item, str) else tuple(item) for item in prompt]


class FunctionCall(BaseModel):
    name: StrictStr = Field(min_length=1)
    arguments: StrictStr


class ToolCall(BaseModel):
    id: StrictStr
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. "refusal"; ignored
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None

    def text(self) -> str | None:
        if self.content is None or isinstance(self.content, str):
            return self.content
        if any(part.get("type") != "text" for part in self.content):
            raise ValueError("only text content parts are supported")
        return "".join(str(part.get("text", "")) for part in self.content)

    def for_template(self) -> dict[str, Any]:
        """The message as chat templates read it: tool call arguments as objects (as vLLM passes them)."""
        content = self.text()
        if content is None and not self.tool_calls:
            raise ValueError(f"a {self.role} message needs content")
        found: dict[str, Any] = {"role": "system" if self.role == "developer" else self.role, "content": content}
        if self.tool_calls:
            found["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": _args(call)}}
                for call in self.tool_calls
            ]
        for extra in ("name", "tool_call_id"):
            if getattr(self, extra) is not None:
                found[extra] = getattr(self, extra)
        return found


def _args(call: ToolCall) -> Any:
    try:
        return json.loads(call.function.arguments)
    except ValueError:
        return call.function.arguments


class FunctionDefinition(BaseModel):
    name: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: StrictStr


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(BaseModel):
    name: StrictStr = Field("response", max_length=64)
    description: StrictStr | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: StrictBool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ChatCompletionRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    logprobs: StrictBool = False
    top_logprobs: StrictInt | None = Field(None, ge=0, le=MAX_LOGPROBS)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None

    @field_validator("max_completion_tokens")
    @classmethod
    def _completion_within_limit(cls, tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(tokens, info)

    @field_validator("top_logprobs")
    @classmethod
    def _needs_logprobs(cls, top: int | None, info: ValidationInfo) -> int | None:
        if top and not info.data.get("logprobs"):
            raise ValueError("needs logprobs: true")
        return top

    @field_validator("response_format")
    @classmethod
    def _schema_given(cls, found: ResponseFormat | None) -> ResponseFormat | None:
        if found is not None and found.type == "json_schema" and found.json_schema is None:
            raise ValueError("type json_schema needs json_schema.schema")
        return found

    @field_validator("tool_choice")
    @classmethod
    def _tools_given(cls, choice: Any, info: ValidationInfo) -> Any:
        tools = info.data.get("tools") or []
        if choice not in (None, "none") and not tools:
            raise ValueError("needs tools")
        json_format = info.data.get("response_format") is not None and info.data["response_format"].type != "text"
        if json_format and (choice == "required" or isinstance(choice, NamedToolChoice)):
            raise ValueError("a forced tool call cannot be combined with a JSON response_format")
        if isinstance(choice, NamedToolChoice) and choice.function.name not in {t.function.name for t in tools}:
            raise ValueError(f"names no tool in tools: {choice.function.name!r}")
        return choice

    def rendered_messages(self) -> list[dict[str, Any]]:
        return [message.for_template() for message in self.messages]

    def wanted_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens
