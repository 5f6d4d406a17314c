"""Next-token choice for a whole batch, each row with its own temperature, top_k, top_p and min_p.

One sort serves every row: top_k, top_p and min_p are masks over the sorted probabilities, built only
when some row asks for them, so a batch with the defaults pays for temperature and top_p alone and draws
exactly as before. top_p is taken over what top_k kept, as vLLM does; min_p compares with the most
likely token, which filtering never removes.
"""

from __future__ import annotations

import torch


def choose_tokens(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    top_p: torch.Tensor,
    generators: list[torch.Generator | None] | None = None,
    top_k: torch.Tensor | None = None,
    min_p: torch.Tensor | None = None,
) -> torch.Tensor:
    """logits (B, V); temperature and top_p (B,); top_k (B,) long, 0 for off, and min_p (B,) when any row
    sets them. Temperature 0 is greedy: argmax, whatever else runs. A row with its own generator (a seeded
    request) draws from it alone."""
    greedy = logits.argmax(dim=-1)
    sampled_rows = temperature > 0
    if not bool(sampled_rows.any()):
        return greedy
    scaled = logits.float() / temperature.clamp(min=1e-6).unsqueeze(1)
    probs = torch.softmax(scaled, dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    kept_mass = torch.ones_like(top_p)
    if top_k is not None:
        beyond = torch.arange(logits.shape[1], device=logits.device).unsqueeze(0) >= top_k.unsqueeze(1)
        beyond &= (top_k > 0).unsqueeze(1)
        sorted_probs = sorted_probs.masked_fill(beyond, 0.0)
        kept_mass = torch.where(top_k > 0, sorted_probs.sum(dim=-1), kept_mass)
    # Keep the smallest prefix whose mass reaches top_p (always at least the most likely token).
    outside = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= (top_p * kept_mass).unsqueeze(1)
    if min_p is not None:
        outside |= sorted_probs < (min_p.unsqueeze(1) * sorted_probs[:, :1])
    outside[:, 0] = False  # even when top_p underflows to 0 in float32 (a top_p of 1e-300 is valid input)
    sorted_probs = sorted_probs.masked_fill(outside, 0.0)
    draws = torch.multinomial(sorted_probs, 1)
    for row, generator in enumerate(generators or []):
        if generator is not None:
            draws[row] = torch.multinomial(sorted_probs[row], 1, generator=generator)
    picked = order.gather(1, draws).squeeze(1)
    return torch.where(sampled_rows, picked, greedy)
