"""Request bodies: validated with pydantic, unknown fields refused, each error naming its field."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationInfo, field_validator

# Strict: integers pass as numbers, but booleans and numeric strings do not.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class GenerateRequest(BaseModel):
    """POST /generate. Omitted generation fields take the server's defaults (MAX_NEW_TOKENS, ...)."""

    model_config = ConfigDict(extra="forbid")

    prompt: StrictStr = Field(min_length=1)
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    user_id: StrictStr | None = Field(None, min_length=1, max_length=128)
    model: StrictStr | None = Field(None, min_length=1, max_length=256)

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("must contain more than whitespace")
        return prompt

    @field_validator("max_tokens")
    @classmethod
    def _within_limit(cls, max_tokens: int | None, info: ValidationInfo) -> int | None:
        limit = (info.context or {}).get("max_tokens_limit")
        if max_tokens is not None and limit is not None and max_tokens > limit:
            raise ValueError(f"must be at most {limit} (MAX_TOKENS_LIMIT)")
        return max_tokens


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic's errors as [{field, message}], with the field as a dotted path ('body' for the whole)."""
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or "body", "message": error["msg"]} for error in errors
    ]
