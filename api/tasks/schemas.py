"""Request bodies: validated with pydantic, unknown fields refused, each error naming its field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationInfo, field_validator

from .sampling import Number, SamplingOptions, within_limit


class GenerateRequest(SamplingOptions):
    """POST /generate. Omitted generation fields take the server's defaults (MAX_NEW_TOKENS, ...); vLLM's
    sampling options (SamplingOptions) are taken as on /v1."""

    model_config = ConfigDict(extra="forbid")

    prompt: StrictStr = Field(min_length=1, json_schema_extra={"pattern": r"\S"})  # documents _not_blank
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    user_id: StrictStr | None = Field(None, min_length=1, max_length=128)
    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    callback_url: StrictStr | None = Field(
        None, min_length=1, description="a webhook POSTed the final result (see docs/api.md, Webhooks)"
    )

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("must contain more than whitespace")
        return prompt

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        """JSON does not tell 5 from 5.0, and JSON Schema's integer takes both; 5.5 and "5" still fail."""
        return int(value) if isinstance(value, float) and value.is_integer() else value

    @field_validator("max_tokens")
    @classmethod
    def _within_limit(cls, max_tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(max_tokens, info)


# Responses: the views build their bodies from these, and /openapi.json documents the same models.


class QueuedResponse(BaseModel):
    status: Literal["queued"] = "queued"
    task_id: str
    message: str


class StatusResponse(BaseModel):
    status: Literal["queued", "processing", "completed", "failed", "cancelled"]
    task_id: str
    message: str


class TaskMetrics(BaseModel):
    queue_wait_time: float = Field(description="seconds waiting in Redis before generation started")
    processing_time: float = Field(description="seconds of generation")
    total_time: float = Field(description="seconds from submission to the result")
    prompt_tokens: int
    completion_tokens: int = Field(description="generated tokens, counting an end-of-sequence token")
    tokens_per_second: float = Field(description="completion_tokens / processing_time")
    finish_reason: Literal["stop", "length"] | None = Field(
        None, description="stop: end of sequence or a stop string; length: max_tokens reached"
    )
    cached_tokens: int | None = Field(
        None, description="prompt tokens taken from the worker's prefix cache, not computed (absent: not told)"
    )


class CompletedResult(BaseModel):
    status: Literal["completed"] = "completed"
    task_id: str
    result: str
    metrics: TaskMetrics


class PendingResult(BaseModel):
    status: Literal["queued", "processing"]
    task_id: str
    message: str


class CancelledResult(BaseModel):
    status: Literal["cancelled"] = "cancelled"
    task_id: str
    message: str


class ErrorResult(BaseModel):
    status: Literal["error"] = "error"
    task_id: str
    error_message: str
    error_type: str


class StreamEvent(BaseModel):
    """The JSON in each Server-Sent Event's data line."""

    status: Literal["queued", "processing", "completed", "failed", "cancelled"]
    message: str
    delta: str | None = Field(None, description="newly generated text, while processing")
    usage: dict[str, int] | None = Field(
        None, description="with a delta: prompt_tokens and completion_tokens so far, when the backend counts them"
    )
    restarted: bool | None = Field(
        None, description="generation started over after a worker was lost: discard the deltas received so far"
    )
    result: str | None = Field(None, description="the whole text, on the completed event")
    metrics: TaskMetrics | None = Field(None, description="on the completed event")
    error_type: str | None = Field(None, description="on the failed event")
    error_message: str | None = Field(None, description="on the failed event")
    logprobs: dict[str, Any] | None = Field(
        None, description="on the completed event of a /v1 request that asked for log-probabilities"
    )
