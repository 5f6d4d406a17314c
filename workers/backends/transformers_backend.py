"""Hugging Face transformers backend: one model per process, loaded through accelerate, serving many
requests at once through the batching engine."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from contract.error_kinds import TIME_LIMIT_MESSAGE
from contract.refusals import RequestRefused
from contract.task_params import TaskParams

from ..engine.factory import create_engine
from ..engine.grammar import Grammars
from ..engine.types import Engine, EngineKind, EngineRequest, Sampling, TokenEvent, TokenLogprobs
from .base import ContextLengthError, GenerationRequest, GenerationResult, LogprobEntry, TextSink, UsageSink
from .chat import plain_chat_template
from .stop_strings import StopStrings
from .streaming import IncrementalDecoder

logger = logging.getLogger(__name__)
# How long past its deadline a caller waits for the engine before giving up on it.
DEADLINE_GRACE_SECONDS = 5.0


class ModelLoadError(RuntimeError):
    pass


@dataclass
class _Output:
    """What a request has generated so far, besides its text."""

    generated: list[int] = field(default_factory=list)
    logprobs: list[LogprobEntry] = field(default_factory=list)
    prompt_logprobs: list[LogprobEntry] | None = None


class TransformersBackend:
    name = "transformers"

    def __init__(
        self,
        model_name: str,
        served_name: str | None = None,
        max_batch_size: int = 1,
        engine: EngineKind = "auto",
        kv_cache_memory_fraction: float = 0.8,
    ) -> None:
        self.model_name = model_name
        self.models = [served_name or model_name]
        self.max_batch_size = max_batch_size
        self.engine_kind = engine
        self.kv_cache_memory_fraction = kv_cache_memory_fraction
        self.model: Any = None
        self.tokenizer: Any = None
        self.engine: Engine | None = None
        self.grammars: Grammars | None = None
        self.token_texts: dict[int, str] = {}

    def load(self) -> None:
        on_gpu = torch.cuda.is_available()
        dtype = torch.bfloat16 if on_gpu else torch.float32
        logger.info("loading %s (%s, %s)", self.model_name, "cuda" if on_gpu else "cpu", dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_name, device_map="auto", dtype=dtype)
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"could not load MODEL_NAME={self.model_name!r} (a hub id, or a local folder such as the one "
                f"`make model` builds): {error}"
            ) from error
        self.model.eval()
        self.grammars = Grammars(self.tokenizer)
        self.grammars.warm()
        self.engine = create_engine(
            self.engine_kind, self.model, self.eos_ids(), self.max_batch_size, self.kv_cache_memory_fraction
        )
        self.engine.start()
        logger.info(
            "%s ready: up to %d requests in flight, context %s tokens",
            type(self.engine).__name__,
            self.max_batch_size,
            self.context,
        )

    @property
    def context(self) -> int | None:
        config = self.model.config
        return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)

    def eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        return set(eos) if isinstance(eos, list) else {eos} if eos is not None else set()

    def generate(
        self, request: GenerationRequest, on_text: TextSink | None = None, on_usage: UsageSink | None = None
    ) -> GenerationResult:
        if self.engine is None or self.grammars is None:
            raise RuntimeError("model is not loaded")
        params = request.params
        prompt_ids = self.prompt_ids(params)
        self._check_ids("logit_bias", params.logit_bias)
        self._check_ids("stop_token_ids", params.stop_token_ids)
        self._check_context(len(prompt_ids), params.max_tokens)
        if time.monotonic() >= request.deadline:
            raise TimeoutError("task time limit reached before generation started")
        job = EngineRequest(
            prompt_ids,
            params.max_tokens,
            request.deadline,
            sampling_of(params),
            seed=params.seed,
            grammar=None if params.json_schema is None else self.grammars.for_schema(params.json_schema),
        )
        started = time.monotonic()
        stops = StopStrings(params.stop, on_text or (lambda _: None), keep=params.include_stop_str_in_output)
        decoder = IncrementalDecoder(self.tokenizer, stops.feed, skip_special_tokens=params.skip_special_tokens)
        self.engine.submit(job)
        try:
            return self._collect(job, params, prompt_ids, decoder, stops, started, on_usage)
        finally:
            job.cancelled.set()  # leaves the batch at once if it is still there (stop strings, timeouts, shutdown)

    @property
    def vocab_size(self) -> int:
        """The ids the model has logits for (it may have more than the tokenizer names)."""
        return int(getattr(self.model.config, "vocab_size", None) or len(self.tokenizer))

    def prompt_ids(self, params: TaskParams) -> list[int]:
        """The prompt as token ids: given as they are, or the text (or rendered chat) tokenized."""
        if params.prompt_ids is not None:
            if not params.prompt_ids:
                raise RequestRefused("prompt", "the prompt has no tokens")
            self._check_ids("prompt", params.prompt_ids)
            return list(params.prompt_ids)
        ids: list[int] = self.tokenizer(self.render(params), add_special_tokens=params.messages is None)["input_ids"]
        return ids

    def render(self, params: TaskParams) -> str:
        """The prompt, or the chat messages in the model's chat template (a plain one when it has none), with
        the request's tools when it has some."""
        if params.messages is None:
            return params.prompt or ""
        if getattr(self.tokenizer, "chat_template", None):
            tools = {"tools": params.tools} if params.tools else {}
            rendered: str = self.tokenizer.apply_chat_template(
                params.messages, tokenize=False, add_generation_prompt=True, **tools
            )
            return rendered
        return plain_chat_template(params.messages)

    def _check_ids(self, field: str, ids: Iterable[int]) -> None:
        outside = sorted(token for token in ids if not 0 <= token < self.vocab_size)
        if outside:
            raise RequestRefused(
                field, f"token id {outside[0]} is outside the model's vocabulary (0 to {self.vocab_size - 1})"
            )

    def _collect(
        self,
        job: EngineRequest,
        params: TaskParams,
        prompt_ids: list[int],
        decoder: IncrementalDecoder,
        stops: StopStrings,
        started: float,
        on_usage: UsageSink | None,
    ) -> GenerationResult:
        first_token_at: float | None = None
        output = _Output()
        while True:
            try:
                events = [job.events.get(timeout=max(0.1, job.deadline + DEADLINE_GRACE_SECONDS - time.monotonic()))]
            except queue.Empty:
                raise TimeoutError(TIME_LIMIT_MESSAGE) from None
            # Whatever else has arrived goes out with it: one delta and one Redis write, not one per token,
            # whenever this thread falls behind the engine (it never holds a token back).
            while not job.events.empty():
                events.append(job.events.get_nowait())
            text_tokens = self._record(output, events, params, prompt_ids)
            if output.generated:
                first_token_at = first_token_at or time.monotonic()
            if text_tokens:
                if on_usage is not None:
                    on_usage(len(prompt_ids), len(output.generated))
                decoder.add(text_tokens)
            finished = "stop" if stops.hit else next((e.finish_reason for e in events if e.finish_reason), None)
            for event in events:
                if event.error is not None and not stops.hit:
                    raise event.error
            if finished is not None:
                if not stops.hit:
                    decoder.finish()
                return GenerationResult(
                    text=stops.finish(),
                    prompt_tokens=len(prompt_ids),
                    completion_tokens=len(output.generated),
                    time_to_first_token=None if first_token_at is None else first_token_at - started,
                    finish_reason=finished,
                    logprobs=output.logprobs if params.logprobs is not None else None,
                    prompt_logprobs=output.prompt_logprobs,
                )

    def _record(
        self, output: _Output, events: list[TokenEvent], params: TaskParams, prompt_ids: list[int]
    ) -> list[int]:
        """Adds the events' tokens and logprobs to the output; returns the tokens that are text (the end of
        sequence or stop token id that ended generation is not, unless include_stop_str_in_output)."""
        text_tokens = []
        for event in events:
            if event.prompt_logprobs is not None:
                output.prompt_logprobs = [
                    self._entry(token, found) for token, found in zip(prompt_ids, event.prompt_logprobs, strict=True)
                ]
            if event.token is None:
                continue
            output.generated.append(event.token)
            if event.logprobs is not None:
                output.logprobs.append(self._entry(event.token, event.logprobs))
            if not event.ended or params.include_stop_str_in_output:
                text_tokens.append(event.token)
        return text_tokens

    def _entry(self, token: int, found: TokenLogprobs) -> LogprobEntry:
        """A logprobs entry with each id's text and bytes (the token alone, special tokens shown)."""
        top = [{**self._token(other), "logprob": logprob} for other, logprob in found.top]
        return {**self._token(token), "logprob": found.logprob, "top": top}

    def _token(self, token: int) -> dict[str, Any]:
        text = self.token_texts.get(token)
        if text is None:
            text = self.token_texts[token] = self.tokenizer.decode([token], skip_special_tokens=False)
        return {"id": token, "token": text, "bytes": list(text.encode("utf-8"))}

    def _check_context(self, prompt_tokens: int, max_tokens: int) -> None:
        if self.context is not None and prompt_tokens + max_tokens > self.context:
            raise ContextLengthError(
                f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceed the model's context of "
                f"{self.context} tokens"
            )


def sampling_of(params: TaskParams) -> Sampling:
    return Sampling(
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        min_p=params.min_p,
        repetition_penalty=params.repetition_penalty,
        presence_penalty=params.presence_penalty,
        frequency_penalty=params.frequency_penalty,
        logit_bias=tuple(sorted(params.logit_bias.items())),
        min_tokens=params.min_tokens,
        ignore_eos=params.ignore_eos,
        stop_token_ids=frozenset(params.stop_token_ids),
        logprobs=params.logprobs,
        prompt_logprobs=params.prompt_logprobs,
    )
