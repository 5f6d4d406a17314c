"""Hugging Face transformers backend: one model per process, loaded through accelerate, serving many
requests at once through the batching engine."""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..engine.factory import create_engine
from ..engine.types import Engine, EngineKind, EngineRequest
from .base import GenerationRequest, GenerationResult, TextSink
from .chat import plain_chat_template
from .stop_strings import StopStrings
from .streaming import IncrementalDecoder

logger = logging.getLogger(__name__)
# How long past its deadline a caller waits for the engine before giving up on it.
DEADLINE_GRACE_SECONDS = 5.0


class ModelLoadError(RuntimeError):
    pass


class ContextLengthError(ValueError):
    """The prompt plus max_tokens do not fit in the model's context."""


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

    def generate(self, request: GenerationRequest, on_text: TextSink | None = None) -> GenerationResult:
        if self.engine is None:
            raise RuntimeError("model is not loaded")
        prompt_ids: list[int] = self.tokenizer(self.render(request), add_special_tokens=not request.messages)[
            "input_ids"
        ]
        self._check_context(len(prompt_ids), request.max_tokens)
        if time.monotonic() >= request.deadline:
            raise TimeoutError("task time limit reached before generation started")
        job = EngineRequest(
            prompt_ids, request.max_tokens, request.temperature, request.top_p, request.deadline, seed=request.seed
        )
        started = time.monotonic()
        stops = StopStrings(request.stop, on_text or (lambda _: None))
        decoder = IncrementalDecoder(self.tokenizer, stops.feed)
        self.engine.submit(job)
        try:
            return self._collect(job, prompt_ids, decoder, stops, started)
        finally:
            job.cancelled.set()  # leaves the batch at once if it is still there (stop strings, timeouts, shutdown)

    def render(self, request: GenerationRequest) -> str:
        """The prompt, or the chat messages in the model's chat template (a plain one when it has none)."""
        if not request.messages:
            return request.prompt
        if getattr(self.tokenizer, "chat_template", None):
            rendered: str = self.tokenizer.apply_chat_template(
                request.messages, tokenize=False, add_generation_prompt=True
            )
            return rendered
        return plain_chat_template(request.messages)

    def _collect(
        self, job: EngineRequest, prompt_ids: list[int], decoder: IncrementalDecoder, stops: StopStrings, started: float
    ) -> GenerationResult:
        first_token_at: float | None = None
        while True:
            try:
                events = [job.events.get(timeout=max(0.1, job.deadline + DEADLINE_GRACE_SECONDS - time.monotonic()))]
            except queue.Empty:
                raise TimeoutError("generation exceeded the task time limit (TASK_TIME_LIMIT)") from None
            # Whatever else has arrived goes out with it: one delta and one Redis write, not one per token,
            # whenever this thread falls behind the engine (it never holds a token back).
            while not job.events.empty():
                events.append(job.events.get_nowait())
            tokens = [event.token for event in events if event.token is not None]
            if tokens:
                first_token_at = first_token_at or time.monotonic()
                decoder.add(tokens)
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
                    completion_tokens=len(decoder.ids),
                    time_to_first_token=None if first_token_at is None else first_token_at - started,
                    finish_reason=finished,
                )

    def _check_context(self, prompt_tokens: int, max_tokens: int) -> None:
        if self.context is not None and prompt_tokens + max_tokens > self.context:
            raise ContextLengthError(
                f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceed the model's context of "
                f"{self.context} tokens"
            )
