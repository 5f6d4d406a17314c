"""Embeddings: each prompt's last hidden states pooled into one unit-length vector, many prompts per forward
pass.

One thread owns these passes and takes every request waiting when it is free (up to max_batch), so
concurrent embedding tasks share a pass the way generation requests share a decode step. It is apart from
the generation engine's thread: an embedding is one forward pass with no cache, and it works beside either
engine, and for a model that only embeds. Prompts are right-padded: positions then start at 0 without
position ids, and a causal model's real tokens never attend to the padding after them.

Pooling, as vLLM and sentence-transformers name it: `last` (the last token's state, what a causal model's
embedding is), `mean` (over the prompt's tokens) or `cls` (the first token's, BERT's).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

logger = logging.getLogger(__name__)
PoolingMode = Literal["last", "mean", "cls"]
IDLE_WAIT_SECONDS = 0.05


@dataclass
class PoolingRequest:
    prompt_ids: list[int]
    done: Future[list[float]] = field(default_factory=Future)


class PoolingEngine:
    def __init__(self, model: Any, mode: PoolingMode, max_batch: int) -> None:
        self.model = model
        self.mode = mode
        self.max_batch = max_batch
        self.inbox: queue.Queue[PoolingRequest] = queue.Queue()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pooling-engine", daemon=True)

    def start(self) -> None:
        self.thread.start()
        atexit.register(self.stop)  # a daemon thread killed inside a torch op at exit aborts the process

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def submit(self, prompt_ids: list[int]) -> Future[list[float]]:
        request = PoolingRequest(prompt_ids)
        self.inbox.put(request)
        return request.done

    def _run(self) -> None:
        with torch.inference_mode():
            while not self.stopped.is_set():
                batch = self._waiting()
                if not batch:
                    continue
                try:
                    vectors = self.pool([request.prompt_ids for request in batch])
                except Exception as error:  # fails this pass's requests, not the engine
                    logger.exception("pooling pass failed; failing %d requests", len(batch))
                    for request in batch:
                        request.done.set_exception(error)
                    continue
                for request, vector in zip(batch, vectors, strict=True):
                    request.done.set_result(vector)

    def _waiting(self) -> list[PoolingRequest]:
        try:
            batch = [self.inbox.get(timeout=IDLE_WAIT_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < self.max_batch:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return [request for request in batch if request.done.set_running_or_notify_cancel()]

    def pool(self, prompts: list[list[int]]) -> list[list[float]]:
        """One forward pass of the model without its head; one L2-normalised vector per prompt."""
        device = self.model.device
        lengths = torch.tensor([len(ids) for ids in prompts], device=device)
        ids = torch.zeros((len(prompts), int(lengths.max())), dtype=torch.long, device=device)
        mask = torch.zeros_like(ids)
        for index, prompt in enumerate(prompts):
            ids[index, : len(prompt)] = torch.tensor(prompt, device=device)
            mask[index, : len(prompt)] = 1
        hidden = self.model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        pooled = _pooled(hidden, mask, lengths, self.mode)
        return torch.nn.functional.normalize(pooled, dim=-1).tolist()  # type: ignore[no-any-return]


def _pooled(hidden: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, mode: PoolingMode) -> torch.Tensor:
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / lengths.unsqueeze(-1).to(hidden.dtype)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths - 1]
