"""Continuous batching through transformers' own manager (paged KV cache, CUDA graphs on GPU).

It takes the same EngineRequest as BatchEngine and answers on the same per-request queue, so the
backend does not care which engine runs. The manager's cache is sized from a share of the device's
free memory (KV_CACHE_MEMORY_FRACTION). Per request, the manager honours only what its per-request
processors and its request state take: temperature, top_k, top_p, max_tokens and the end-of-sequence ids
(which carry stop_token_ids and ignore_eos). Anything else a request asks for (a seed, logprobs, a JSON
schema, penalties...) is refused up front (refuse_unsupported) rather than silently ignored.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Any

from transformers import GenerationConfig
from transformers.generation.configuration_utils import ContinuousBatchingConfig

from contract.error_kinds import TIME_LIMIT_MESSAGE
from contract.refusals import RequestRefused

from .types import EngineRequest, Sampling, TokenEvent

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.02
# The manager samples every row or none (do_sample is global); a greedy request samples with top_k 1 (at a
# temperature so low that the distribution is one-hot anyway), which is argmax except on exact ties.
GREEDY_TEMPERATURE = 1e-5
ENGINE_NAME = "the paged engine (ENGINE=paged, used on GPU)"


def refuse_unsupported(request: EngineRequest) -> None:
    """Raises RequestRefused naming the first option this engine cannot honour."""
    sampling, defaults = request.sampling, Sampling()
    unsupported = {
        "seed": request.seed is not None,
        "response_format": request.grammar is not None,
        "logprobs": sampling.logprobs is not None,
        "echo": sampling.prompt_logprobs is not None,  # the only way a request asks for the prompt's logprobs
        "logit_bias": bool(sampling.logit_bias),
        "min_tokens": sampling.min_tokens != defaults.min_tokens,
        "min_p": sampling.min_p != defaults.min_p,
        "repetition_penalty": sampling.repetition_penalty != defaults.repetition_penalty,
        "presence_penalty": sampling.presence_penalty != defaults.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty != defaults.frequency_penalty,
    }
    for field, asked in unsupported.items():
        if asked:
            what = {"response_format": "a JSON schema", "echo": "the prompt's logprobs"}.get(field, field)
            raise RequestRefused(field, f"{ENGINE_NAME} does not support {what}; the batch engine (ENGINE=batch) does")


class PagedEngine:
    def __init__(
        self, model: Any, eos_ids: set[int], max_batch_size: int, memory_fraction: float, prefix_sharing: bool = True
    ) -> None:
        self.eos_ids = eos_ids
        # Per-request temperature, top_k and top_p only exist when the defaults create those processors; a
        # top_k of the whole vocabulary keeps every token for requests that set none.
        self.vocab = int(model.config.vocab_size)
        config = GenerationConfig(
            do_sample=True,
            temperature=0.7,
            top_k=self.vocab,
            top_p=0.9,
            max_new_tokens=16,
            eos_token_id=sorted(eos_ids) or -1,
        )
        batching = ContinuousBatchingConfig(
            per_request_processors=True,
            # transformers' prefix sharing: full prompt blocks found by hash are shared, not computed again
            # (its default; said here because the project depends on it)
            allow_block_sharing=prefix_sharing,
            max_requests_per_batch=max_batch_size,
            max_memory_percent=memory_fraction,
        )
        self.manager = model.init_continuous_batching(generation_config=config, continuous_batching_config=batching)
        self.requests: dict[str, tuple[EngineRequest, list[int]]] = {}
        self.lock = threading.Lock()
        self.counter = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._route, name="paged-engine-router", daemon=True)

    def start(self) -> None:
        self.manager.start()
        self.thread.start()
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.thread.join(timeout=10)
        self.manager.stop(block=True, timeout=10)

    @property
    def running(self) -> int:
        return len(self.requests)

    def submit(self, request: EngineRequest) -> None:
        refuse_unsupported(request)
        with self.lock:
            self.counter += 1
            request_id = f"r{self.counter}"
            self.requests[request_id] = (request, [])
        sampling = request.sampling
        greedy = sampling.temperature == 0.0
        self.manager.add_request(
            request.prompt_ids,
            request_id=request_id,
            max_new_tokens=request.max_tokens,
            streaming=True,
            eos_token_id=sorted(self._enders(request)) or -1,
            temperature=GREEDY_TEMPERATURE if greedy else float(sampling.temperature),
            top_k=1 if greedy else int(sampling.top_k or self.vocab),
            top_p=1.0 if greedy else float(sampling.top_p),
        )

    def _enders(self, request: EngineRequest) -> set[int]:
        """The token ids that end this request: end of sequence (unless ignore_eos) and its stop token ids."""
        sampling = request.sampling
        return (set() if sampling.ignore_eos else set(self.eos_ids)) | sampling.stop_token_ids

    def _route(self) -> None:
        """Moves the manager's outputs onto each request's queue; ends requests past deadline or cancelled."""
        while not self.stopped.is_set():
            output = self.manager.get_result(timeout=POLL_SECONDS)
            if output is not None:
                self._deliver(output)
            self._expire()

    def _deliver(self, output: Any) -> None:
        with self.lock:
            entry = self.requests.get(output.request_id)
        if entry is None:
            return
        request, sent = entry
        new = output.generated_tokens[len(sent) :]
        sent.extend(new)
        finished = not output.error and output.is_finished()
        stopped = finished and bool(sent) and sent[-1] in self._enders(request)
        for index, token in enumerate(new):
            request.events.put(TokenEvent(token=token, ended=stopped and index == len(new) - 1))
        if output.error:
            self._finish(output.request_id, TokenEvent(error=RuntimeError(str(output.error))))
        elif finished:
            self._finish(output.request_id, TokenEvent(finish_reason="stop" if stopped else "length"))

    def _expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            entries = list(self.requests.items())
        for request_id, (request, _) in entries:
            if request.cancelled.is_set():
                self._finish(request_id, None)
            elif now >= request.deadline:
                self._finish(request_id, TokenEvent(error=TimeoutError(TIME_LIMIT_MESSAGE)))

    def _finish(self, request_id: str, last: TokenEvent | None) -> None:
        with self.lock:
            entry = self.requests.pop(request_id, None)
        if entry is None:
            return
        if last is not None:
            entry[0].events.put(last)
        if last is None or last.error is not None:
            self.manager.cancel_request(request_id)
