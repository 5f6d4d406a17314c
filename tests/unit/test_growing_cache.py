"""The decode cache written in place holds what transformers' DynamicCache would, past its room too."""

from __future__ import annotations

import torch
from transformers import DynamicCache

from workers.engine.growing_cache import ROOM, growing_cache


def test_steps_past_the_room_hold_the_same_keys_and_values_as_a_dynamic_cache() -> None:
    start = [torch.randn(2, 3, 5, 4) for _ in range(2)]
    growing = growing_cache(start, [-t for t in start])
    dynamic = DynamicCache(ddp_cache_data=[(t, -t) for t in start])
    buffer_before = growing.layers[0].key_buffer
    for _ in range(ROOM + 3):  # one token a step, beyond the room given at the start
        for layer in range(2):
            step = torch.randn(2, 3, 1, 4)
            assert torch.equal(growing.update(step, -step, layer)[0], dynamic.update(step, -step, layer)[0])
    assert growing.get_seq_length() == dynamic.get_seq_length() == 5 + ROOM + 3
    for ours, theirs in zip(growing.layers, dynamic.layers, strict=True):
        assert torch.equal(ours.keys, theirs.keys) and torch.equal(ours.values, theirs.values)
    # It grew once, when its room ran out: the steps before wrote in place
    assert growing.layers[0].key_buffer is not buffer_before
    assert growing.layers[0].key_buffer.shape[-2] == 5 + ROOM + ROOM
