"""vLLM's extra sampling and output parameters, the same on /generate and both /v1 routes.

Each has vLLM's meaning and range; at its default it changes nothing. Token ids are checked against the
model's vocabulary by the worker, which is the first to know it (a bad one fails the task with 400)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictInt, ValidationInfo, field_validator

# Strict: integers pass as numbers, but booleans and numeric strings do not.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]

MAX_TOKEN_IDS = 256
"""the most entries in logit_bias or stop_token_ids"""
MAX_TOKEN_ID_DIGITS = 10
"""a token id's longest decimal form in a logit_bias key (no vocabulary reaches 10 digits)"""


class SamplingOptions(BaseModel):
    top_k: StrictInt | None = Field(None, ge=-1, description="sample from the k most likely tokens; -1 or 0: all")
    min_p: Number | None = Field(None, ge=0.0, le=1.0, description="drop tokens below min_p × the top probability")
    repetition_penalty: Number | None = Field(
        None, gt=0.0, le=2.0, description=">1 discourages tokens already in the prompt or output"
    )
    presence_penalty: Number | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: Number | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, Number] | None = Field(
        None, description="token id (as a string) -> bias from -100 to 100, added to its logit"
    )
    min_tokens: StrictInt | None = Field(None, ge=0, description="no end of sequence before this many tokens")
    ignore_eos: StrictBool | None = Field(None, description="generate past end of sequence, up to max_tokens")
    stop_token_ids: list[StrictInt] | None = Field(None, max_length=MAX_TOKEN_IDS)
    include_stop_str_in_output: StrictBool | None = None
    skip_special_tokens: StrictBool | None = None

    @field_validator("logit_bias")
    @classmethod
    def _token_ids_and_range(cls, bias: dict[str, float] | None) -> dict[str, float] | None:
        for key, value in (bias or {}).items():
            # ASCII digits only ("²" is a digit to str.isdigit, not to int), and short enough for int()
            if not (key.isascii() and key.isdigit() and len(key) <= MAX_TOKEN_ID_DIGITS):
                raise ValueError(f"keys are token ids; {key[:20]!r} is not")
            if not -100 <= value <= 100:
                raise ValueError(f"values are from -100 to 100; {key}: {value}")
        if bias is not None and len(bias) > MAX_TOKEN_IDS:
            raise ValueError(f"at most {MAX_TOKEN_IDS} entries")
        return bias

    @field_validator("stop_token_ids")
    @classmethod
    def _non_negative(cls, ids: list[int] | None) -> list[int] | None:
        if any(token < 0 for token in ids or []):
            raise ValueError("token ids are not negative")
        return ids

    def sampling(self) -> dict[str, Any]:
        """TaskParams' fields for the options given (those left out keep TaskParams' neutral defaults)."""
        given: dict[str, Any] = {
            name: getattr(self, name) for name in SamplingOptions.model_fields if getattr(self, name) is not None
        }
        if "top_k" in given:
            given["top_k"] = max(given["top_k"], 0)
        if "logit_bias" in given:
            given["logit_bias"] = {int(key): value for key, value in given["logit_bias"].items()}
        if "stop_token_ids" in given:
            given["stop_token_ids"] = tuple(given["stop_token_ids"])
        return given


def within_limit(tokens: int | None, info: ValidationInfo) -> int | None:
    """A token count no larger than the server's MAX_TOKENS_LIMIT, given as validation context."""
    limit = (info.context or {}).get("max_tokens_limit")
    if tokens is not None and limit is not None and tokens > limit:
        raise ValueError(f"must be at most {limit} (MAX_TOKENS_LIMIT)")
    return tokens
