"""POST /v1/embeddings' answer, in OpenAI's shape (CreateEmbeddingResponse)."""

from __future__ import annotations

from typing import Literal

from ..openai.shapes import OpenAIObject


class Embedding(OpenAIObject):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str
    """floats, or with encoding_format base64 their float32 little-endian bytes in base64"""


class EmbeddingUsage(OpenAIObject):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(OpenAIObject):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
