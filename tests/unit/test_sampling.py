"""Per-row sampling at the edges of its parameters (found by schemathesis: a top_p of 1e-196 is valid input
but underflows to 0 in float32)."""

from __future__ import annotations

import torch

from workers.engine.sampling import choose_tokens


def test_a_top_p_that_underflows_still_keeps_the_most_likely_token() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 1.0]])
    temperature, top_p = torch.tensor([0.7, 1.0]), torch.tensor([6.6e-196, 1e-300])
    seeded = [torch.Generator().manual_seed(1), None]
    assert choose_tokens(logits, temperature, top_p, seeded).tolist() == [1, 0]


def test_a_seeded_row_draws_the_same_whatever_the_other_rows() -> None:
    logits = torch.randn(4, 50, generator=torch.Generator().manual_seed(0))
    temperature, top_p = torch.ones(4), torch.ones(4)

    def first_row(seed: int) -> int:
        generators = [torch.Generator().manual_seed(seed), None, None, None]
        return int(choose_tokens(logits, temperature, top_p, generators)[0])

    torch.manual_seed(1)
    one = first_row(7)
    torch.manual_seed(2)  # the unseeded rows draw differently; the seeded one does not
    assert first_row(7) == one
