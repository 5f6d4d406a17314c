"""What every backend takes and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from contract.task_params import TaskParams

TextSink = Callable[[str], None]
"""Receives generated text as it comes; the pieces joined equal the final text."""

UsageSink = Callable[[int, int], None]
"""Receives (prompt tokens, generated tokens so far) before each piece of text, for usage in every chunk."""

LogprobEntry = dict[str, Any]
"""One token's log-probability: {"id", "token", "bytes", "logprob", "top": [{"id", "token", "bytes", "logprob"}]}
("logprob" is None for the first prompt token, which nothing precedes)."""


LogprobSink = Callable[[list[LogprobEntry]], None]
"""Receives the log-probabilities of tokens as they are generated, before their text (streamed with it)."""


class ContextLengthError(ValueError):
    """The prompt plus max_tokens do not fit in the model's context."""


@dataclass(frozen=True)
class GenerationRequest:
    model: str
    """the served model name the task asked for (one backend may serve several)"""
    params: TaskParams
    """the prompt (or messages) and every sampling and output option"""
    deadline: float
    """time.monotonic() past which generation stops and the task fails with TimeoutError"""


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token: float | None = None
    """seconds from the start of generation to the first generated token"""
    finish_reason: str = "length"
    """"stop" when the model ended with its end-of-sequence token or a stop string, "length" at max_tokens"""
    logprobs: list[LogprobEntry] | None = None
    """one entry per generated token, when params.logprobs is set"""
    prompt_logprobs: list[LogprobEntry] | None = None
    """one entry per prompt token, when params.prompt_logprobs is set"""
    cached_tokens: int | None = None
    """prompt tokens taken from the engine's prefix cache rather than computed; None: the engine does not tell"""


@dataclass(frozen=True)
class EmbeddingResult:
    vector: list[float]
    """unit length, `dimensions` long when the task asked for that"""
    prompt_tokens: int


class Backend(Protocol):
    name: str
    models: list[str]
    """the served model names, known once loaded; the first is the configured one"""

    def load(self) -> None: ...

    def tokenizer_json(self) -> str | None:
        """The loaded model's tokenizer as the `tokenizers` library serializes it (the api counts prompt tokens
        with it); None when there is none to share."""
        ...

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextSink | None = None,
        on_usage: UsageSink | None = None,
        on_logprobs: LogprobSink | None = None,
    ) -> GenerationResult: ...

    def embed(self, request: GenerationRequest) -> EmbeddingResult:
        """The prompt's embedding (request.params.embedding is set)."""
        ...
