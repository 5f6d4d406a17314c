"""What happens to a row's logits between the model and the draw, in vLLM's order.

Logprobs are read first, from the raw logits (vLLM's default "raw_logprobs"), so they describe the model
and not the request's options. Then, only on rows whose request set them: logit_bias; end-of-sequence and
stop token ids blocked (below min_tokens, or end-of-sequence always with ignore_eos); the repetition
penalty over prompt and output tokens; presence and frequency penalties over output tokens. Temperature,
top_k, top_p and min_p follow in sampling.py, vectorised over the batch. A request with the defaults
touches none of this: the engine only calls in here for rows that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .types import Sampling, TokenLogprobs


@dataclass
class History:
    """What the penalties look at for one row: the prompt's tokens and how often each token was generated."""

    in_prompt: torch.Tensor
    """(V,) bool"""
    counts: torch.Tensor
    """(V,) float: times each token was generated so far"""


def start_history(prompt_ids: Sequence[int], vocab: int, device: torch.device) -> History:
    in_prompt = torch.zeros(vocab, dtype=torch.bool, device=device)
    in_prompt[torch.tensor(list(prompt_ids), dtype=torch.long, device=device)] = True
    return History(in_prompt, torch.zeros(vocab, dtype=torch.float32, device=device))


def record(history: History, token: int) -> None:
    history.counts[token] += 1


def adjust(row: torch.Tensor, sampling: Sampling, generated: int, eos_ids: set[int], history: History | None) -> None:
    """Applies the request's options to one (V,) float row of logits, in place; `generated` tokens so far."""
    if sampling.logit_bias:
        ids, biases = zip(*sampling.logit_bias, strict=True)
        row[list(ids)] += torch.tensor(biases, dtype=row.dtype, device=row.device)
    blocked = set(eos_ids) if sampling.ignore_eos else set()
    if generated < sampling.min_tokens:
        blocked |= set(eos_ids) | sampling.stop_token_ids
    if blocked:
        row[sorted(blocked)] = float("-inf")
    if history is not None:
        penalise(row, sampling, history)


def penalise(row: torch.Tensor, sampling: Sampling, history: History) -> None:
    """Repetition (HF/vLLM: positive logits divided, negative multiplied), presence and frequency penalties."""
    if sampling.repetition_penalty != 1.0:
        seen = history.in_prompt | (history.counts > 0)
        penalty = sampling.repetition_penalty
        row.copy_(torch.where(seen & (row > 0), row / penalty, torch.where(seen, row * penalty, row)))
    if sampling.frequency_penalty:
        row -= sampling.frequency_penalty * history.counts
    if sampling.presence_penalty:
        row -= sampling.presence_penalty * (history.counts > 0).to(row.dtype)


def logprobs_of(logits: torch.Tensor, chosen: Sequence[int], tops: Sequence[int]) -> list[TokenLogprobs]:
    """Raw logprobs of the chosen token in each (B, V) row, and that row's `tops[i]` most likely tokens."""
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(1, torch.tensor(chosen, device=logits.device).unsqueeze(1)).squeeze(1).tolist()
    most = min(max(tops, default=0), logits.shape[-1])
    values, ids = logprobs.topk(most, dim=-1) if most else (logprobs[:, :0], logprobs[:, :0].long())
    values_list, ids_list = values.tolist(), ids.tolist()
    return [
        TokenLogprobs(picked[i], tuple(zip(ids_list[i][: tops[i]], values_list[i][: tops[i]], strict=True)))
        for i in range(len(chosen))
    ]


def prompt_logprobs(logits: torch.Tensor, prompt_ids: Sequence[int], top: int) -> tuple[TokenLogprobs, ...]:
    """Per prompt token, from the (T, V) logits at the prompt's positions: each token's logprob given what
    precedes it. The first token has none (nothing precedes it)."""
    later = logprobs_of(logits[:-1], prompt_ids[1:], [top] * (len(prompt_ids) - 1)) if len(prompt_ids) > 1 else []
    return (TokenLogprobs(None), *later)
