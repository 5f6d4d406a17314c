"""OpenAI-compatible request bodies (/v1/completions, /v1/chat/completions), validated with pydantic.

Parameters this service does not implement are refused by name with 400 rather than silently ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationInfo, field_validator

from .schemas import Number, within_limit

# Accepted at their neutral values only (what a client library sends by default).
# OpenAI's parameters this service does not implement, accepted only at values that change nothing.
# (chat's `logprobs` is a boolean defaulting to false; completions' is a count, where 0 is not neutral.)
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logprobs": (None, False),
    "echo": (False,),
    "best_of": (1,),
    "suffix": (None,),
    "logit_bias": (None,),
    "top_logprobs": (None,),
    "tools": (None,),
    "tool_choice": (None,),
    "response_format": (None,),
    "parallel_tool_calls": (None,),
}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: StrictBool = False


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unsupported() has refused every unknown or non-neutral one

    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    stop: StrictStr | list[StrictStr] | None = None
    seed: StrictInt | None = None
    user: StrictStr | None = Field(None, max_length=128)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None

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

    def stop_list(self) -> list[str]:
        return self.stop if isinstance(self.stop, list) else []

    def wanted_tokens(self) -> int | None:
        return self.max_tokens


def unsupported(body: dict[str, Any], model: type[BaseModel]) -> tuple[str, str] | None:
    """(parameter, why) for the first parameter this service does not implement, or None."""
    for name, value in body.items():
        if name in model.model_fields:
            continue
        if name not in NEUTRAL:
            return name, f"Unrecognized request argument supplied: {name}"
        if not any(_same(value, neutral) for neutral in NEUTRAL[name]):
            accepted = " or ".join(repr(neutral) for neutral in NEUTRAL[name])
            return name, f"{name}={value!r} is not supported here (only {accepted})"
    return None


def _same(value: Any, neutral: Any) -> bool:
    """Equal, where false is not 0 (JSON tells them apart; Python's == does not)."""
    return bool(value == neutral) and isinstance(value, bool) == isinstance(neutral, bool)


class CompletionRequest(_Common):
    prompt: StrictStr | list[StrictStr]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, prompt: str | list[str]) -> str:
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if len(prompts) != 1 or not prompts[0].strip():
            raise ValueError("one non-blank prompt (a list of several is not supported)")
        return prompts[0]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. "name"; ignored
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: StrictStr | list[dict[str, Any]]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if any(part.get("type") != "text" for part in self.content):
            raise ValueError("only text content parts are supported")
        return "".join(str(part.get("text", "")) for part in self.content)


class ChatCompletionRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)

    def rendered_messages(self) -> list[dict[str, str]]:
        return [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in self.messages]

    @field_validator("max_completion_tokens")
    @classmethod
    def _completion_within_limit(cls, tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(tokens, info)

    def wanted_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens
