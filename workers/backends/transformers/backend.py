"""TransformersBackend: one model per process, serving many requests at once through the batching engine.
Each request goes through the package's jobs in order: inputs, submission, outputs."""

from __future__ import annotations

import logging
from typing import Any

from contract.task_params import TaskParams

from ...engine.factory import create_engine
from ...engine.grammar import Grammars
from ...engine.types import Engine, EngineKind
from ..base import GenerationRequest, GenerationResult, TextSink, UsageSink
from ..stop_strings import StopStrings
from ..streaming import IncrementalDecoder
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
        self.inputs: Inputs | None = None
        self.texts: TokenTexts | None = None

    def load(self) -> None:
        self.model, self.tokenizer = load_model(self.model_name)
        context = context_of(self.model)
        self.inputs = Inputs(self.tokenizer, vocab_size_of(self.model, self.tokenizer), context)
        self.texts = TokenTexts(self.tokenizer)
        self.grammars = Grammars(self.tokenizer)
        self.grammars.warm()
        self.engine = create_engine(
            self.engine_kind, self.model, eos_ids_of(self.model), self.max_batch_size, self.kv_cache_memory_fraction
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

    def generate(
        self, request: GenerationRequest, on_text: TextSink | None = None, on_usage: UsageSink | None = None
    ) -> GenerationResult:
        if self.engine is None or self.grammars is None or self.inputs is None or self.texts is None:
            raise RuntimeError("model is not loaded")
        params = request.params
        job = engine_request(params, self.inputs.prompt_ids(params), request.deadline, self.grammars)
        stops = StopStrings(params.stop, on_text or (lambda _: None), keep=params.include_stop_str_in_output)
        decoder = IncrementalDecoder(self.tokenizer, stops.feed, skip_special_tokens=params.skip_special_tokens)
        collector = Collector(job, params, decoder, stops, self.texts, on_usage)
        self.engine.submit(job)
        try:
            return collector.result()
        finally:
            job.cancelled.set()  # leaves the batch at once if it is still there (stop strings, timeouts, shutdown)
