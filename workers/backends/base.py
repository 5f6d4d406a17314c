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


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token: float | None = None
    """seconds from the start of generation to the first generated token"""
    finish_reason: str = "length"
    """"stop" when the model ended with its end-of-sequence token, "length" when max_tokens ended it"""


class Backend(Protocol):
    name: str
    models: list[str]
    """the served model names, known once loaded; the first is the configured one"""

    def load(self) -> None: ...

    def generate(self, request: GenerationRequest, on_text: TextSink | None = None) -> GenerationResult: ...
