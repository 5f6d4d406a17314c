"""What a task asks the worker to do: built once by the api, stored in the task record, read by the actor
and the request log. Exactly one of `prompt` (plain text) or `messages` (a chat, rendered by the worker
with the model's template) is set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TaskParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int = Field(ge=1)
    temperature: float = Field(ge=0.0)
    top_p: float = Field(gt=0.0, le=1.0)
    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    """chat messages ({role, content})"""
    stop: tuple[str, ...] = ()
    """strings that end generation; the text ends before the first one found"""
    seed: int | None = None
    """makes sampling repeatable for the same request"""

    @model_validator(mode="after")
    def _one_text(self) -> TaskParams:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a task has either a prompt or messages, not both or neither")
        return self
