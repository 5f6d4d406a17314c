"""The prefix cache's blocks: keyed by whole prefixes, bounded by bytes, evicted tail first."""

from __future__ import annotations

import torch

from workers.engine.batch_engine import shared_put_off
from workers.engine.prefix_cache import BLOCK_TOKENS, PrefixCache, block_keys, reusable
from workers.engine.types import EngineRequest, Sampling

LAYERS, HEADS, DIM = 2, 3, 4


def computed(tokens: int, fill: float = 1.0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer, (heads, tokens, dim) keys and values whose value at each position is its position."""
    positions = torch.arange(tokens, dtype=torch.float32).view(1, tokens, 1).expand(HEADS, tokens, DIM) * fill
    return [positions.clone() for _ in range(LAYERS)], [-positions.clone() for _ in range(LAYERS)]


def test_a_block_key_names_the_whole_prefix_not_just_its_tokens() -> None:
    a = block_keys([1] * BLOCK_TOKENS + [2] * BLOCK_TOKENS)
    b = block_keys([3] * BLOCK_TOKENS + [2] * BLOCK_TOKENS)
    assert len(a) == 2 and a[1] != b[1]  # the same second block after another first one
    assert block_keys([1] * BLOCK_TOKENS + [2] * BLOCK_TOKENS + [5])[:2] == a  # partial blocks are not keyed
    # The last prompt token is always computed: a prompt of exactly two blocks reuses one
    assert reusable(a, 2 * BLOCK_TOKENS) == a[:1]


def test_stored_blocks_come_back_in_order_and_only_from_the_start() -> None:
    cache, prompt = PrefixCache(1 << 20), list(range(3 * BLOCK_TOKENS))
    keys = block_keys(prompt)
    cache.store(keys, 0, *computed(len(prompt)))
    assert cache.cached(keys) == 3
    taken = cache.take(keys[:2])
    assert taken is not None
    assert taken[0][0].shape == (HEADS, 2 * BLOCK_TOKENS, DIM)
    assert taken[0][1][0, :, 0].tolist() == list(range(2 * BLOCK_TOKENS))  # positions 0..31, in order
    assert taken[1][0][0, -1, 0].item() == -(2 * BLOCK_TOKENS - 1)
    # Another prompt sharing only the first block finds that one
    other = block_keys(prompt[:BLOCK_TOKENS] + [999] * BLOCK_TOKENS)
    assert cache.cached(other) == 1
    # Blocks stored from the middle of a prompt (after a cached prefix) land at their own positions
    longer = block_keys(prompt + list(range(100, 100 + BLOCK_TOKENS)))
    keys_after, values_after = computed(BLOCK_TOKENS, fill=0.0)
    cache.store(longer, 3, keys_after, values_after)
    assert cache.cached(longer) == 4


def test_the_bound_holds_and_the_least_recently_used_tail_goes_first() -> None:
    one_block = 2 * LAYERS * HEADS * BLOCK_TOKENS * DIM * 4  # keys and values, float32
    cache = PrefixCache(5 * one_block)
    first, second = list(range(3 * BLOCK_TOKENS)), list(range(1000, 1000 + 3 * BLOCK_TOKENS))
    cache.store(block_keys(first), 0, *computed(len(first)))
    cache.store(block_keys(second), 0, *computed(len(second)))
    assert cache.bytes <= 5 * one_block and len(cache.blocks) == 5
    # The first prompt, used least recently, lost its last block, and still has its head
    assert cache.cached(block_keys(first)) == 2 and cache.cached(block_keys(second)) == 3
    # Using the first again makes the second the one to lose blocks next
    cache.take(block_keys(first)[:2])
    cache.store(block_keys([7] * BLOCK_TOKENS), 0, *computed(BLOCK_TOKENS))
    assert cache.cached(block_keys(first)) == 2 and cache.cached(block_keys(second)) == 2


def test_requests_sharing_an_uncached_prefix_in_one_round_wait_for_the_first_to_compute_it() -> None:
    shared = list(range(3 * BLOCK_TOKENS))
    choices = [EngineRequest(shared + [index], 8, 0.0) for index in range(3)]
    other = EngineRequest(list(range(500, 500 + 3 * BLOCK_TOKENS)), 8, 0.0)
    logprobs = EngineRequest(shared + [9], 8, 0.0, Sampling(prompt_logprobs=1))  # takes nothing from a cache
    cache = PrefixCache(1 << 20)
    now, later = shared_put_off([*choices, other, logprobs], cache)
    assert now == [choices[0], other, logprobs] and later == choices[1:]
    # Once the prefix is cached nobody waits for it
    cache.store(block_keys(shared), 0, *computed(len(shared)))
    assert shared_put_off(choices[1:], cache) == (choices[1:], [])
