"""Continuous batching on top of a Hugging Face causal LM, for any device.

One thread owns the model. Each step it admits waiting requests (prefilling each one into its own KV
cache and splicing that cache into the batch's, left-padded), then runs one decode step for every
request in the batch at once. Requests leave at token boundaries: end of sequence, max_tokens, their
deadline, or cancellation, and their rows of the cache are dropped at once. Tokens go back to each
request's own queue, so decoding text and writing events happen in the caller's thread, not here.

Each request brings its own sampling options (types.Sampling) and, for JSON output, a grammar matcher:
rows with the defaults take the vectorised path alone; logits.py adjusts only the rows that ask.
Stop token ids end a request like end of sequence does; logprobs are the model's raw ones.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache

from contract.error_kinds import TIME_LIMIT_MESSAGE

from .growing_cache import growing_cache
from .logits import History, adjust, logprobs_of, prompt_logprobs, record, start_history
from .prefix_cache import BLOCK_TOKENS, PrefixCache, Taken, block_keys, reusable
from .sampling import choose_tokens
from .types import DEFAULT_PREFIX_CACHE_BYTES, EngineRequest, TokenEvent, TokenLogprobs

logger = logging.getLogger(__name__)
IDLE_WAIT_SECONDS = 0.05


@dataclass
class _Row:
    request: EngineRequest
    length: int  # tokens in the cache for this row, which is also the next token's position
    last_token: int
    generated: int
    generator: torch.Generator | None
    history: History | None
    """token counts for penalties, only when the request sets one"""


class BatchEngine:
    def __init__(
        self, model: Any, eos_ids: set[int], max_batch_size: int, prefix_cache_bytes: int = DEFAULT_PREFIX_CACHE_BYTES
    ) -> None:
        self.model = model
        self.eos_ids = eos_ids
        self.max_batch_size = max_batch_size
        # Prefill computes the output layer at the last position only, unless a request asks for prompt logprobs.
        self.keeps_logits = "logits_to_keep" in inspect.signature(model.forward).parameters
        self.inbox: queue.Queue[EngineRequest] = queue.Queue()
        self.rows: list[_Row] = []
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.cache: DynamicCache | None = None
        """the decode steps' cache (growing_cache.py): built from keys and values at the first step after the
        rows change, then written in place; keys and values are views of it"""
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=model.device)
        self.prefixes = PrefixCache(prefix_cache_bytes) if prefix_cache_bytes > 0 else None
        self.deferred: list[EngineRequest] = []
        """requests put off by one round, to take a prefix a request of that round computes (prefix_cache.py)"""
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="batch-engine", daemon=True)

    def start(self) -> None:
        self.thread.start()
        # A daemon thread killed inside a torch op at interpreter exit aborts the process; stop it first.
        atexit.register(self.stop)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def submit(self, request: EngineRequest) -> None:
        self.inbox.put(request)

    @property
    def running(self) -> int:
        return len(self.rows)

    def _run(self) -> None:
        with torch.inference_mode():
            while not self.stopped.is_set():
                try:
                    self._admit()
                    if self.rows:
                        self._step()
                except Exception as error:  # a broken step fails the requests in it, not the engine
                    logger.exception("engine step failed; failing %d requests", len(self.rows))
                    for row in self.rows:
                        row.request.events.put(TokenEvent(error=error))
                    self._reset()

    def _admit(self) -> None:
        """Prefills every waiting request that fits, in one forward pass, and adds them to the batch."""
        waiting, self.deferred = self.deferred, []
        while len(self.rows) + len(waiting) < self.max_batch_size:
            try:
                idle = not self.rows and not waiting
                request = self.inbox.get(timeout=IDLE_WAIT_SECONDS) if idle else self.inbox.get_nowait()
            except queue.Empty:
                break
            waiting.append(request)
        waiting = [request for request in waiting if not request.cancelled.is_set()]
        if self.prefixes is not None:
            waiting, self.deferred = shared_put_off(waiting, self.prefixes)
        if not waiting:
            return
        try:
            self._prefill(waiting)
        except Exception as error:
            for request in waiting:
                request.events.put(TokenEvent(error=error))

    def _prefill(self, requests: list[EngineRequest]) -> None:
        """One forward pass over every request's prompt after its cached prefix. The batch's cache holds,
        per row, left padding, the cached prefix, padding again, then the computed tokens; the mask and the
        positions skip the padding, wherever it is."""
        device = self.model.device
        blocks = [block_keys(request.prompt_ids) if self.prefixes is not None else [] for request in requests]
        found = [self._cached(request, keys) for request, keys in zip(requests, blocks, strict=True)]
        past = max(cached for cached, _ in found)
        width = max(len(request.prompt_ids) - cached for request, (cached, _) in zip(requests, found, strict=True))
        ids = torch.zeros((len(requests), width), dtype=torch.long, device=device)
        mask = torch.zeros((len(requests), past + width), dtype=torch.long, device=device)
        for index, (request, (cached, _)) in enumerate(zip(requests, found, strict=True)):
            new = request.prompt_ids[cached:]
            ids[index, width - len(new) :] = torch.tensor(new, device=device)
            mask[index, past - cached : past] = 1
            mask[index, past + width - len(new) :] = 1
            request.cached_tokens = cached
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)[:, past:]
        cache = DynamicCache(ddp_cache_data=_pasts(found, past)) if past else DynamicCache()
        every_position = any(request.sampling.prompt_logprobs is not None for request in requests)
        last_only = {"logits_to_keep": 1} if self.keeps_logits and not every_position else {}
        logits = self.model(
            input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True, **last_only
        ).logits
        keys, values = _tensors(cache)
        if self.prefixes is not None:
            self._keep_prefixes(requests, blocks, found, keys, values)
        rows = [self._new_row(request, logits.shape[-1]) for request in requests]
        for index, request in enumerate(requests):
            if request.sampling.prompt_logprobs is not None:  # such a request took nothing from the cache
                at_prompt = logits[index, width - len(request.prompt_ids) :]
                entries = prompt_logprobs(at_prompt, request.prompt_ids, request.sampling.prompt_logprobs)
                request.events.put(TokenEvent(prompt_logprobs=entries))
        going_on = self._advance(rows, logits[:, -1, :])
        if going_on:
            chosen = torch.tensor(going_on, device=device)
            self._splice(
                [rows[index] for index in going_on],
                [k.index_select(0, chosen) for k in keys],
                [v.index_select(0, chosen) for v in values],
                mask.index_select(0, chosen),
            )

    def _cached(self, request: EngineRequest, blocks: list[bytes]) -> tuple[int, Taken | None]:
        """How many of the prompt's first tokens the cache holds, and their keys and values per layer."""
        if self.prefixes is None or request.sampling.prompt_logprobs is not None:  # those need every position
            return 0, None
        keys = reusable(blocks, len(request.prompt_ids))
        taken = self.prefixes.take(keys[: self.prefixes.cached(keys)])
        return (taken[0][0].shape[1] if taken else 0), taken

    def _keep_prefixes(
        self,
        requests: list[EngineRequest],
        blocks: list[list[bytes]],
        found: list[tuple[int, Taken | None]],
        keys: list[torch.Tensor],
        values: list[torch.Tensor],
    ) -> None:
        """Caches the full blocks each prompt computed (its tokens after its cached prefix)."""
        assert self.prefixes is not None
        for index, (request, prompt_blocks, (cached, _)) in enumerate(zip(requests, blocks, found, strict=True)):
            computed = len(request.prompt_ids) - cached
            if len(prompt_blocks) * BLOCK_TOKENS > cached:
                self.prefixes.store(
                    prompt_blocks,
                    cached // BLOCK_TOKENS,
                    [k[index, :, -computed:] for k in keys],
                    [v[index, :, -computed:] for v in values],
                )

    def _new_row(self, request: EngineRequest, vocab: int) -> _Row:
        device = self.model.device
        history = start_history(request.prompt_ids, vocab, device) if request.sampling.penalised else None
        return _Row(request, len(request.prompt_ids), -1, 0, _generator(request.seed, device), history)

    def _splice(
        self, rows: list[_Row], keys: list[torch.Tensor], values: list[torch.Tensor], mask: torch.Tensor
    ) -> None:
        """Adds prefilled rows to the batch cache, left-padding whichever side is shorter."""
        if not self.rows:
            self.keys, self.values, self.mask = keys, values, mask
        else:
            width = max(self.mask.shape[1], mask.shape[1])
            pad_batch, pad_new = width - self.mask.shape[1], width - mask.shape[1]
            self.keys = _join(self.keys, keys, pad_batch, pad_new)
            self.values = _join(self.values, values, pad_batch, pad_new)
            pad = torch.nn.functional.pad
            self.mask = torch.cat([pad(self.mask, (pad_batch, 0)), pad(mask, (pad_new, 0))])
        self.rows.extend(rows)
        self.cache = None

    def _step(self) -> None:
        device = self.model.device
        tokens = torch.tensor([[row.last_token] for row in self.rows], device=device)
        positions = torch.tensor([[row.length] for row in self.rows], device=device)
        self.mask = torch.cat([self.mask, torch.ones((len(self.rows), 1), dtype=torch.long, device=device)], dim=1)
        if self.cache is None:  # the rows changed since the last step
            self.cache = growing_cache(self.keys, self.values)
        logits = self.model(
            input_ids=tokens, attention_mask=self.mask, position_ids=positions, cache=self.cache, use_cache=True
        ).logits[:, -1, :]
        self.keys, self.values = _tensors(self.cache)
        for row in self.rows:
            row.length += 1
        keep = self._advance(self.rows, logits)
        if len(keep) < len(self.rows):
            self._keep(keep)

    def _advance(self, rows: list[_Row], logits: torch.Tensor) -> list[int]:
        """Chooses each row's next token from its (B, V) logits and hands it over; returns the rows going on."""
        chosen = choose_tokens(self._processed(rows, logits), *self._knobs(rows)).tolist()
        asking = [index for index, row in enumerate(rows) if row.request.sampling.logprobs is not None]
        logprobs: dict[int, TokenLogprobs] = {}
        if asking:
            tops = [rows[index].request.sampling.logprobs or 0 for index in asking]
            found = logprobs_of(logits[asking], [chosen[index] for index in asking], tops)
            logprobs = dict(zip(asking, found, strict=True))
        going_on = []
        for index, (row, token) in enumerate(zip(rows, chosen, strict=True)):
            row.generated += 1
            row.last_token = token
            if row.history is not None:
                record(row.history, token)
            if row.request.grammar is not None:
                try:
                    row.request.grammar.consume(token)
                except RuntimeError as error:  # fails this request alone
                    row.request.events.put(TokenEvent(error=error))
                    continue
            if not self._emit(row, token, logprobs.get(index)):
                going_on.append(index)
        return going_on

    def _processed(self, rows: list[_Row], logits: torch.Tensor) -> torch.Tensor:
        """The logits each row draws from: the raw ones, unless some row's options change them (logits.py)."""
        changing = [
            index
            for index, row in enumerate(rows)
            if row.request.sampling.adjusts_logits or row.request.grammar is not None
        ]
        if not changing:
            return logits
        processed = logits.float().clone()
        for index in changing:
            row = rows[index]
            adjust(processed[index], row.request.sampling, row.generated, self.eos_ids, row.history)
            if row.request.grammar is not None:
                row.request.grammar.mask(processed[index : index + 1])
        return processed

    def _emit(self, row: _Row, token: int, logprobs: TokenLogprobs | None) -> bool:
        """Hands the token over; True when the request is done and leaves the batch."""
        request = row.request
        if request.cancelled.is_set():
            return True
        sampling = request.sampling
        ends = row.generated > sampling.min_tokens and (
            (token in self.eos_ids and not sampling.ignore_eos) or token in sampling.stop_token_ids
        )
        request.events.put(TokenEvent(token=token, logprobs=logprobs, ended=ends))
        if ends or (request.grammar is not None and request.grammar.finished):
            request.events.put(TokenEvent(finish_reason="stop"))
        elif row.generated >= request.max_tokens:
            request.events.put(TokenEvent(finish_reason="length"))
        elif time.monotonic() >= request.deadline:
            request.events.put(TokenEvent(error=TimeoutError(TIME_LIMIT_MESSAGE)))
        else:
            return False
        return True

    def _keep(self, indices: list[int]) -> None:
        """Drops finished rows from the batch and trims padding no remaining row needs."""
        self.rows = [self.rows[index] for index in indices]
        if not self.rows:
            self._reset()
            return
        chosen = torch.tensor(indices, device=self.model.device)
        self.mask = self.mask.index_select(0, chosen)
        first_used = int(self.mask.any(dim=0).nonzero()[0])
        self.mask = self.mask[:, first_used:]
        self.keys = [k.index_select(0, chosen)[:, :, first_used:] for k in self.keys]
        self.values = [v.index_select(0, chosen)[:, :, first_used:] for v in self.values]
        self.cache = None

    def _reset(self) -> None:
        self.rows, self.keys, self.values, self.cache = [], [], [], None
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=self.model.device)

    def _knobs(
        self, rows: list[_Row]
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Generator | None], torch.Tensor | None, torch.Tensor | None]:
        """Per-row temperature, top_p, generator, and top_k and min_p when any row sets them."""
        device = self.model.device
        sampling = [row.request.sampling for row in rows]
        temperature = torch.tensor([s.temperature for s in sampling], device=device)
        top_p = torch.tensor([s.top_p for s in sampling], device=device)
        top_k = torch.tensor([s.top_k for s in sampling], device=device) if any(s.top_k for s in sampling) else None
        min_p = torch.tensor([s.min_p for s in sampling], device=device) if any(s.min_p for s in sampling) else None
        return temperature, top_p, [row.generator for row in rows], top_k, min_p


def shared_put_off(
    waiting: list[EngineRequest], prefixes: PrefixCache
) -> tuple[list[EngineRequest], list[EngineRequest]]:
    """(prefilled now, put off one round): a request sharing more uncached blocks with an earlier request
    of this round than the cache holds for it waits for that request to cache them (`n` choices, and the
    same system prompt arriving at once, are computed once)."""
    now: list[EngineRequest] = []
    later: list[EngineRequest] = []
    computing: list[list[bytes]] = []
    for request in waiting:
        blocks = block_keys(request.prompt_ids)
        keys = reusable(blocks, len(request.prompt_ids)) if request.sampling.prompt_logprobs is None else []
        shared = max((_common(keys, other) for other in computing), default=0)
        if shared > prefixes.cached(keys):
            later.append(request)
        else:
            now.append(request)
            computing.append(blocks)
    return now, later


def _common(keys: list[bytes], other: list[bytes]) -> int:
    """How many blocks two prompts share from their start (one key names a whole prefix)."""
    shared = 0
    while shared < min(len(keys), len(other)) and keys[shared] == other[shared]:
        shared += 1
    return shared


def _pasts(found: list[tuple[int, Taken | None]], past: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer, the batch's (batch, heads, past, head_dim) cached keys and values, left-padded."""
    first_keys = next(taken for _, taken in found if taken is not None)[0]
    heads, _, head_dim = first_keys[0].shape
    joined = []
    for layer in range(len(first_keys)):
        keys, values = [], []
        for cached, taken in found:
            if taken is None:  # a row with nothing cached: all padding here
                key = value = first_keys[layer].new_zeros((heads, 0, head_dim))
            else:
                key, value = taken[0][layer], taken[1][layer]
            keys.append(_pad(key.unsqueeze(0), past - cached))
            values.append(_pad(value.unsqueeze(0), past - cached))
        joined.append((torch.cat(keys), torch.cat(values)))
    return joined


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    """A seeded request samples from its own generator: the same draws whatever else is in the batch."""
    return None if seed is None else torch.Generator(device=device).manual_seed(seed)


def _tensors(cache: DynamicCache) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Each layer's (batch, heads, seq, dim) keys and values."""
    layers: list[Any] = list(cache.layers)
    return [layer.keys for layer in layers], [layer.values for layer in layers]


def _join(batch: list[torch.Tensor], new: list[torch.Tensor], pad_batch: int, pad_new: int) -> list[torch.Tensor]:
    return [torch.cat([_pad(old, pad_batch), _pad(row, pad_new)]) for old, row in zip(batch, new, strict=True)]


def _pad(tensor: torch.Tensor, left: int) -> torch.Tensor:
    """Left-pads the sequence axis (-2) of a (batch, heads, seq, dim) cache tensor with zeros."""
    return torch.nn.functional.pad(tensor, (0, 0, left, 0)) if left else tensor
