"""What every batching engine takes and gives back, and the protocol an engine implements.

No torch here: settings and backends name engines without loading one.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EngineKind = Literal["auto", "batch", "paged"]
DEFAULT_PREFIX_CACHE_BYTES = 1024**3


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen; every default changes nothing (vLLM's SamplingParams, in its terms)."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    """0: off"""
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    min_tokens: int = 0
    ignore_eos: bool = False
    stop_token_ids: frozenset[int] = frozenset()
    logprobs: int | None = None
    """alternatives per generated token; None: no logprobs at all"""
    prompt_logprobs: int | None = None

    @property
    def adjusts_logits(self) -> bool:
        """Whether anything runs between the model's logits and the draw besides temperature and top_p."""
        return bool(
            self.logit_bias
            or self.min_tokens
            or self.ignore_eos
            or self.repetition_penalty != 1.0
            or self.presence_penalty
            or self.frequency_penalty
        )

    @property
    def penalised(self) -> bool:
        return self.repetition_penalty != 1.0 or bool(self.presence_penalty) or bool(self.frequency_penalty)


class GrammarMatcher(Protocol):
    """A constraint on the output (grammar.py): which tokens may come next, and whether it is complete."""

    def mask(self, row_logits: Any) -> None:
        """Sets every token the grammar forbids next to -inf, in place, in a (1, vocab) logits row."""

    def consume(self, token: int) -> None: ...

    @property
    def finished(self) -> bool:
        """Nothing may follow: the output is complete."""
        ...


@dataclass(frozen=True)
class TokenLogprobs:
    """A token's raw log-probability and the most likely alternatives as (id, logprob), most likely first."""

    logprob: float | None
    top: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class TokenEvent:
    """One item on a request's queue: a token, or the end ("stop", "length") or an error."""

    token: int | None = None
    finish_reason: str | None = None
    error: BaseException | None = None
    logprobs: TokenLogprobs | None = None
    """the token's, when the request asked for logprobs"""
    ended: bool = False
    """the token is the end-of-sequence or stop token id that ended generation (not text unless asked for)"""
    prompt_logprobs: tuple[TokenLogprobs, ...] | None = None
    """on the first event, when the request asked: one per prompt token"""


@dataclass
class EngineRequest:
    prompt_ids: list[int]
    max_tokens: int
    deadline: float
    sampling: Sampling = field(default_factory=Sampling)
    seed: int | None = None
    grammar: GrammarMatcher | None = None
    events: queue.Queue[TokenEvent] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cached_tokens: int | None = None
    """prompt tokens the engine took from its prefix cache, set before the request's first event; None where
    the engine does not tell (transformers' paged manager shares blocks without saying how many)"""


class Engine(Protocol):
    """Generates for many requests at once; each request's tokens arrive on its own `events` queue."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submit(self, request: EngineRequest) -> None: ...

    @property
    def running(self) -> int:
        """requests generating now"""
        ...
