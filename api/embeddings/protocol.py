"""POST /v1/embeddings' body, as OpenAI's `embeddings.create` sends it, validated with pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

MAX_INPUTS = 2048
"""the most inputs one request may embed (OpenAI's limit); each is a task of its own"""
INPUT_FORMS = "a string, a list of strings, a list of token ids, or a list of lists of token ids"

Input = StrictStr | list[StrictInt]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # fields nobody here knows are logged and ignored, as on /v1

    input: list[Input] = Field(description=f"{INPUT_FORMS}; at most {MAX_INPUTS} inputs, none empty")
    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = Field(None, ge=1, description="only for models trained to shorten (Matryoshka)")
    user: StrictStr | None = Field(None, max_length=128)

    @field_validator("input", mode="before")
    @classmethod
    def _inputs(cls, given: Any) -> list[Any]:
        """Every form as a list of inputs, each a string or a list of token ids."""
        if isinstance(given, str) or (isinstance(given, list) and given and all(map(_is_int, given))):
            given = [given]
        if not isinstance(given, list):
            raise ValueError(f"must be {INPUT_FORMS}")
        if not 1 <= len(given) <= MAX_INPUTS:
            raise ValueError(f"must hold 1 to {MAX_INPUTS} inputs, not {len(given)}")
        for index, item in enumerate(given):
            if isinstance(item, list) and item and all(map(_is_int, item)):
                if min(item) < 0:
                    raise ValueError(f"input {index} holds a negative token id")
            elif not (isinstance(item, str) and item):
                raise ValueError(f"input {index} is not a non-empty string or list of token ids")
        return given


def _is_int(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)
