"""What every backend takes and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

TextSink = Callable[[str], None]
"""Receives generated text as it comes; the pieces joined equal the final text."""


@dataclass(frozen=True)
class GenerationRequest:
    model: str
    """the served model name the task asked for (one backend may serve several)"""
    prompt: str
    max_tokens: int
    temperature: float
    top_p: float
    deadline: float
    """time.monotonic() past which generation stops and the task fails with TimeoutError"""
    messages: list[dict[str, str]] | None = None
    """chat messages ({role, content}); when given, the backend renders them with the model's template"""
    stop: tuple[str, ...] = ()
    """strings that end generation; the text ends before the first one found"""
    seed: int | None = None
    """makes sampling repeatable for the same request"""


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token: float | None = None
    """seconds from the start of generation to the first generated token"""
    finish_reason: str = "length"
    """"stop" when the model ended with its end-of-sequence token or a stop string, "length" at max_tokens"""


class Backend(Protocol):
    name: str
    models: list[str]
    """the served model names, known once loaded; the first is the configured one"""

    def load(self) -> None: ...

    def generate(self, request: GenerationRequest, on_text: TextSink | None = None) -> GenerationResult: ...
