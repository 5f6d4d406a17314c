"""TransformersBackend: one model per process, serving many requests at once through the batching engine.
Each request goes through the package's jobs in order: inputs, submission, outputs."""

from __future__ import annotations

import logging
import time
from typing import Any

from contract.model_registry import ModelTask
from contract.refusals import RequestRefused
from contract.task_params import TaskParams

from ...engine.factory import create_engine
from ...engine.grammar import Grammars
from ...engine.pooling import PoolingEngine
from ...engine.types import DEFAULT_PREFIX_CACHE_BYTES, Engine, EngineKind
from ..base import EmbeddingResult, GenerationRequest, GenerationResult, LogprobSink, TextSink, UsageSink
from ..stop_strings import StopStrings
from ..streaming import IncrementalDecoder
from .embedding import EmbeddingShape
from .inputs import Inputs
from .loading import context_of, eos_ids_of, load_model, vocab_size_of
from .outputs import Collector, TokenTexts
from .submission import engine_request

logger = logging.getLogger(__name__)


class TransformersBackend:
    name = "transformers"

    def __init__(
        self,
        model_name: str,
        served_name: str | None = None,
        max_batch_size: int = 1,
        engine: EngineKind = "auto",
        kv_cache_memory_fraction: float = 0.8,
        task: ModelTask = "generate",
        prefix_cache_bytes: int = DEFAULT_PREFIX_CACHE_BYTES,
    ) -> None:
        self.model_name = model_name
        self.task = task
        self.models = [served_name or model_name]
        self.max_batch_size = max_batch_size
        self.engine_kind = engine
        self.kv_cache_memory_fraction = kv_cache_memory_fraction
        self.prefix_cache_bytes = prefix_cache_bytes
        self.model: Any = None
        self.tokenizer: Any = None
        self.engine: Engine | None = None
        self.grammars: Grammars | None = None
        self.inputs: Inputs | None = None
        self.texts: TokenTexts | None = None
        self.pooling: PoolingEngine | None = None
        self.embeddings: EmbeddingShape | None = None

    def load(self) -> None:
        causal = self.task == "generate"
        self.model, self.tokenizer = load_model(self.model_name, causal)
        context = context_of(self.model)
        self.inputs = Inputs(self.tokenizer, vocab_size_of(self.model, self.tokenizer), context)
        self.embeddings = EmbeddingShape.of(self.model, self.model_name, causal)
        self.pooling = PoolingEngine(self.model, self.embeddings.pooling, self.max_batch_size)
        self.pooling.start()
        if causal:
            self._start_generation(context)
        else:
            logger.info(
                "embedding model ready: %d dimensions, %s pooling", self.embeddings.size, self.embeddings.pooling
            )

    def _start_generation(self, context: int | None) -> None:
        self.texts = TokenTexts(self.tokenizer)
        self.grammars = Grammars(self.tokenizer)
        self.grammars.warm()
        self.engine = create_engine(
            self.engine_kind,
            self.model,
            eos_ids_of(self.model),
            self.max_batch_size,
            self.kv_cache_memory_fraction,
            self.prefix_cache_bytes,
        )
        self.engine.start()
        name = type(self.engine).__name__
        logger.info("%s ready: up to %d requests in flight, context %s tokens", name, self.max_batch_size, context)

    def tokenizer_json(self) -> str | None:
        fast = getattr(self.tokenizer, "backend_tokenizer", None)  # slow (Python) tokenizers have none
        return fast.to_str() if fast is not None else None

    def render(self, params: TaskParams) -> str:
        """The prompt as the model reads it (chat template applied)."""
        if self.inputs is None:
            raise RuntimeError("model is not loaded")
        return self.inputs.render(params)

    def embed(self, request: GenerationRequest) -> EmbeddingResult:
        if self.pooling is None or self.embeddings is None or self.inputs is None:
            raise RuntimeError("model is not loaded")
        ids = self.inputs.prompt_ids(request.params)
        timeout = request.deadline - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("task time limit reached before the embedding started")
        vector = self.pooling.submit(ids).result(timeout=timeout)
        return EmbeddingResult(self.embeddings.shortened(vector, request.params.dimensions), len(ids))

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextSink | None = None,
        on_usage: UsageSink | None = None,
        on_logprobs: LogprobSink | None = None,
    ) -> GenerationResult:
        if self.task == "embed":
            raise RequestRefused("model", f"{self.models[0]} is an embedding model: it answers /v1/embeddings only")
        if self.engine is None or self.grammars is None or self.inputs is None or self.texts is None:
            raise RuntimeError("model is not loaded")
        params = request.params
        job = engine_request(params, self.inputs.prompt_ids(params), request.deadline, self.grammars)
        stops = StopStrings(params.stop, on_text or (lambda _: None), keep=params.include_stop_str_in_output)
        decoder = IncrementalDecoder(self.tokenizer, stops.feed, skip_special_tokens=params.skip_special_tokens)
        collector = Collector(job, params, decoder, stops, self.texts, on_usage, on_logprobs)
        self.engine.submit(job)
        try:
            return collector.result()
        finally:
            job.cancelled.set()  # leaves the batch at once if it is still there (stop strings, timeouts, shutdown)
