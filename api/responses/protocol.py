"""POST /v1/responses' body: OpenAI's fields this service implements; the others are refused by name (a
field nobody here knows is refused too: the Responses API is new enough that a silent drop would mislead)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationInfo, field_validator

from ..tasks.sampling import Number, within_limit

MAX_METADATA_KEYS = 16


class InputText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["input_text", "output_text"]
    text: StrictStr
    annotations: list[Any] | None = None


class InputMessage(BaseModel):
    """An input item: a message (`type` may be left out, as OpenAI allows)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: StrictStr | list[InputText]
    id: StrictStr | None = None
    status: StrictStr | None = None

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)

    def for_template(self) -> dict[str, str]:
        return {"role": "system" if self.role == "developer" else self.role, "content": self.text()}


class ResponseCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    input: StrictStr | list[InputMessage] = Field(min_length=1)
    instructions: StrictStr | None = Field(None, description="a system message, not carried to later responses")
    previous_response_id: StrictStr | None = Field(None, description="continue that response's conversation")
    max_output_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    background: StrictBool = Field(False, description="answer at once (queued); retrieve it later")
    store: Literal[True] = Field(True, description="always stored (for RESULT_TTL): false is refused")
    stream: StrictBool = Field(False, description="OpenAI's Responses events as Server-Sent Events")
    metadata: dict[StrictStr, StrictStr] | None = Field(None, max_length=MAX_METADATA_KEYS)
    user: StrictStr | None = Field(None, max_length=128)

    @field_validator("max_output_tokens")
    @classmethod
    def _within_limit(cls, tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(tokens, info)

    def messages(self) -> list[InputMessage]:
        if isinstance(self.input, str):
            return [InputMessage(role="user", content=self.input)]
        return self.input
