"""Logits processing (workers/engine/logits.py) against straightforward per-token reference computations."""

from __future__ import annotations

import math

import pytest
import torch

from workers.engine.logits import adjust, logprobs_of, prompt_logprobs, record, start_history
from workers.engine.sampling import choose_tokens
from workers.engine.types import Sampling

VOCAB = 12
EOS = 11


def logits_row(seed: int = 0) -> torch.Tensor:
    return torch.randn(VOCAB, generator=torch.Generator().manual_seed(seed)) * 3


def adjusted(sampling: Sampling, prompt: list[int], output: list[int], row: torch.Tensor) -> torch.Tensor:
    history = start_history(prompt, VOCAB, torch.device("cpu"))
    for token in output:
        record(history, token)
    result = row.clone()
    adjust(result, sampling, len(output), {EOS}, history if sampling.penalised else None)
    return result


def test_logit_bias_is_added_to_the_named_tokens_only() -> None:
    row = logits_row()
    result = adjusted(Sampling(logit_bias=((3, 5.0), (7, -2.5))), [1], [], row)
    expected = row.clone()
    expected[3] += 5.0
    expected[7] -= 2.5
    assert torch.equal(result, expected)


def test_end_of_sequence_and_stop_ids_are_blocked_below_min_tokens_and_eos_always_with_ignore_eos() -> None:
    row = logits_row()
    sampling = Sampling(min_tokens=2, stop_token_ids=frozenset({4}))
    early = adjusted(sampling, [1], [2], row)  # one token so far: blocked
    assert early[EOS] == early[4] == -math.inf
    assert torch.equal(adjusted(sampling, [1], [2, 3], row), row)  # two so far: free
    ignoring = adjusted(Sampling(ignore_eos=True, stop_token_ids=frozenset({4})), [1], [2, 3, 5], row)
    assert ignoring[EOS] == -math.inf and ignoring[4] == row[4]


def reference_penalties(row: torch.Tensor, sampling: Sampling, prompt: list[int], output: list[int]) -> list[float]:
    """Token by token, as vLLM documents them."""
    expected = []
    for token, logit in enumerate(row.tolist()):
        if token in prompt or token in output:
            penalty = sampling.repetition_penalty
            logit = logit / penalty if logit > 0 else logit * penalty
        count = output.count(token)
        logit -= sampling.frequency_penalty * count + sampling.presence_penalty * (count > 0)
        expected.append(logit)
    return expected


@pytest.mark.parametrize(
    "sampling",
    [
        Sampling(repetition_penalty=1.7),
        Sampling(repetition_penalty=0.6),
        Sampling(presence_penalty=1.5),
        Sampling(frequency_penalty=-0.8),
        Sampling(repetition_penalty=1.3, presence_penalty=0.5, frequency_penalty=0.7),
    ],
)
def test_penalties_match_the_reference(sampling: Sampling) -> None:
    row, prompt, output = logits_row(1), [0, 2, 2, 5], [5, 6, 6, 6, 9]
    result = adjusted(sampling, prompt, output, row)
    assert result.tolist() == pytest.approx(reference_penalties(row, sampling, prompt, output), abs=1e-6)


def test_logprobs_are_the_raw_log_softmax_with_the_top_alternatives_most_likely_first() -> None:
    logits = torch.stack([logits_row(2), logits_row(3)])
    found = logprobs_of(logits, [4, 0], [3, 0])
    for row, entry, chosen in zip(logits, found, [4, 0], strict=True):
        reference = torch.log_softmax(row, dim=-1)
        assert entry.logprob == pytest.approx(float(reference[chosen]), abs=1e-6)
    values, ids = torch.log_softmax(logits[0], dim=-1).topk(3)
    assert [token for token, _ in found[0].top] == ids.tolist()
    assert [value for _, value in found[0].top] == pytest.approx(values.tolist(), abs=1e-6)
    assert found[1].top == ()


def test_prompt_logprobs_give_each_token_given_what_precedes_it_and_none_for_the_first() -> None:
    logits = torch.stack([logits_row(seed) for seed in range(4)])  # at positions 0..3
    prompt = [5, 1, 8, 2]
    found = prompt_logprobs(logits, prompt, 2)
    assert found[0].logprob is None and found[0].top == ()
    for position in range(1, 4):
        reference = torch.log_softmax(logits[position - 1], dim=-1)
        assert found[position].logprob == pytest.approx(float(reference[prompt[position]]), abs=1e-6)
        assert [token for token, _ in found[position].top] == reference.topk(2).indices.tolist()


def test_top_k_keeps_only_the_k_most_likely_and_min_p_drops_the_unlikely() -> None:
    logits = torch.tensor([[0.0, 2.0, 1.9, 1.8, -1.0]] * 2)
    temperature, top_p = torch.ones(2), torch.ones(2)
    generators = [torch.Generator().manual_seed(seed) for seed in range(2)]
    drawn: set[int] = set()
    for _ in range(200):
        drawn.update(choose_tokens(logits, temperature, top_p, generators, top_k=torch.tensor([2, 0])).tolist()[:1])
    assert drawn == {1, 2}
    # min_p 0.85: only tokens at least 0.85 times as likely as the best (exp(-0.1) ~ 0.905 passes, exp(-0.2) not)
    drawn = set()
    for _ in range(200):
        min_p = torch.tensor([0.85, 0.0])
        drawn.update(choose_tokens(logits, temperature, top_p, generators, min_p=min_p).tolist()[:1])
    assert drawn == {1, 2}


def test_top_p_applies_to_what_top_k_kept() -> None:
    # p ~ (0.30, 0.27, 0.11 x 4): top_p 0.4 keeps two tokens of the whole, one of the top two renormalised
    logits = torch.tensor([[5.0, 4.9, 4.0, 4.0, 4.0, 4.0]])

    def drawn(top_k: int) -> set[int]:
        options = {"top_k": torch.tensor([top_k])} if top_k else {}
        return {int(choose_tokens(logits, torch.ones(1), torch.tensor([0.4]), [None], **options)) for _ in range(100)}

    assert drawn(0) == {0, 1}
    assert drawn(2) == {0}


def test_options_left_at_their_defaults_draw_exactly_as_before() -> None:
    logits = torch.randn(3, 40, generator=torch.Generator().manual_seed(5))
    temperature, top_p = torch.tensor([0.8, 1.0, 0.0]), torch.tensor([0.9, 1.0, 1.0])

    def draw(**options: torch.Tensor) -> list[int]:
        generators = [torch.Generator().manual_seed(seed) for seed in range(3)]
        return [choose_tokens(logits, temperature, top_p, generators, **options).tolist() for _ in range(20)]

    assert draw() == draw(top_k=torch.tensor([0, 0, 0])) == draw(min_p=torch.tensor([0.0, 0.0, 0.0]))
