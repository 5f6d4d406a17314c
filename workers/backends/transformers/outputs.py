"""Collecting what the engine generates for one request: tokens detokenised into text as they come (stop
strings applied), usage reported, logprobs entries with each token's text, then the result."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any

from contract.error_kinds import TIME_LIMIT_MESSAGE
from contract.task_params import TaskParams

from ...engine.types import EngineRequest, TokenEvent, TokenLogprobs
from ..base import GenerationResult, LogprobEntry, LogprobSink, UsageSink
from ..stop_strings import StopStrings
from ..streaming import IncrementalDecoder

# How long past its deadline a caller waits for the engine before giving up on it.
DEADLINE_GRACE_SECONDS = 5.0


@dataclass
class _Output:
    """What a request has generated so far, besides its text."""

    generated: list[int] = field(default_factory=list)
    logprobs: list[LogprobEntry] = field(default_factory=list)
    prompt_logprobs: list[LogprobEntry] | None = None


class TokenTexts:
    """Each token's text alone (special tokens shown), decoded once per process: logprobs name them."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.known: dict[int, str] = {}

    def entry(self, token: int, found: TokenLogprobs) -> LogprobEntry:
        top = [{**self._token(other), "logprob": logprob} for other, logprob in found.top]
        return {**self._token(token), "logprob": found.logprob, "top": top}

    def _token(self, token: int) -> dict[str, Any]:
        text = self.known.get(token)
        if text is None:
            text = self.known[token] = self.tokenizer.decode([token], skip_special_tokens=False)
        return {"id": token, "token": text, "bytes": list(text.encode("utf-8"))}


class Collector:
    """One request's events, from submission to its result."""

    def __init__(
        self,
        job: EngineRequest,
        params: TaskParams,
        decoder: IncrementalDecoder,
        stops: StopStrings,
        texts: TokenTexts,
        on_usage: UsageSink | None,
        on_logprobs: LogprobSink | None = None,
    ) -> None:
        self.job, self.params, self.decoder, self.stops = job, params, decoder, stops
        self.texts, self.on_usage, self.on_logprobs = texts, on_usage, on_logprobs
        self.output = _Output()
        self.started = time.monotonic()
        self.first_token_at: float | None = None

    def result(self) -> GenerationResult:
        while True:
            events = self._next_events()
            known = len(self.output.logprobs)
            text_tokens = self._record(events)
            if self.on_logprobs is not None and len(self.output.logprobs) > known:
                self.on_logprobs(self.output.logprobs[known:])  # before the text: they go out together
            if self.output.generated:
                self.first_token_at = self.first_token_at or time.monotonic()
            if text_tokens:
                if self.on_usage is not None:
                    self.on_usage(len(self.job.prompt_ids), len(self.output.generated))
                self.decoder.add(text_tokens)
            finished = "stop" if self.stops.hit else next((e.finish_reason for e in events if e.finish_reason), None)
            for event in events:
                if event.error is not None and not self.stops.hit:
                    raise event.error
            if finished is not None:
                return self._finish(finished)

    def _next_events(self) -> list[TokenEvent]:
        job = self.job
        try:
            events = [job.events.get(timeout=max(0.1, job.deadline + DEADLINE_GRACE_SECONDS - time.monotonic()))]
        except queue.Empty:
            raise TimeoutError(TIME_LIMIT_MESSAGE) from None
        # Whatever else has arrived goes out with it: one delta and one Redis write, not one per token,
        # whenever this thread falls behind the engine (it never holds a token back).
        while not job.events.empty():
            events.append(job.events.get_nowait())
        return events

    def _record(self, events: list[TokenEvent]) -> list[int]:
        """Adds the events' tokens and logprobs to the output; returns the tokens that are text (the end of
        sequence or stop token id that ended generation is not, unless include_stop_str_in_output)."""
        output, text_tokens = self.output, []
        for event in events:
            if event.prompt_logprobs is not None:
                pairs = zip(self.job.prompt_ids, event.prompt_logprobs, strict=True)
                output.prompt_logprobs = [self.texts.entry(token, found) for token, found in pairs]
            if event.token is None:
                continue
            output.generated.append(event.token)
            if event.logprobs is not None:
                output.logprobs.append(self.texts.entry(event.token, event.logprobs))
            if not event.ended or self.params.include_stop_str_in_output:
                text_tokens.append(event.token)
        return text_tokens

    def _finish(self, finish_reason: str) -> GenerationResult:
        if not self.stops.hit:
            self.decoder.finish()
        first = self.first_token_at
        return GenerationResult(
            text=self.stops.finish(),
            prompt_tokens=len(self.job.prompt_ids),
            completion_tokens=len(self.output.generated),
            time_to_first_token=None if first is None else first - self.started,
            finish_reason=finish_reason,
            logprobs=self.output.logprobs if self.params.logprobs is not None else None,
            prompt_logprobs=self.output.prompt_logprobs,
            cached_tokens=self.job.cached_tokens,
        )
