"""What every backend takes and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GenerationRequest:
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


class Backend(Protocol):
    name: str

    def load(self) -> None: ...

    def generate(self, request: GenerationRequest) -> GenerationResult: ...
