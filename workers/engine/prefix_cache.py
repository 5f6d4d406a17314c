"""Prompt key/value blocks already computed, kept for the batch engine: a prompt that begins with cached
blocks starts its prefill after them (vLLM's automatic prefix caching, for our engine).

A block is BLOCK_TOKENS prompt tokens. Its key hashes its tokens together with the key of the block before
it, so one key names one whole prefix, and a lookup walks a prompt's keys from the start until the first
miss. The blocks are bounded by bytes and evicted least recently used; a hit touches a prefix's blocks last
to first, so a prefix's tail goes before its head and what stays cached is always reachable. Used by the
engine's thread alone: no lock.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from dataclasses import dataclass

import torch

BLOCK_TOKENS = 16
Taken = tuple[list[torch.Tensor], list[torch.Tensor]]
"""per layer, the (heads, tokens, head_dim) keys, then the values, of cached blocks joined"""


@dataclass(frozen=True)
class Block:
    keys: tuple[torch.Tensor, ...]
    """per layer, (heads, BLOCK_TOKENS, head_dim)"""
    values: tuple[torch.Tensor, ...]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))


def block_keys(prompt_ids: list[int]) -> list[bytes]:
    """The key of each full block of the prompt, in order."""
    keys, parent = [], b""
    for start in range(0, len(prompt_ids) - BLOCK_TOKENS + 1, BLOCK_TOKENS):
        tokens = array("q", prompt_ids[start : start + BLOCK_TOKENS]).tobytes()
        parent = hashlib.blake2b(parent + tokens, digest_size=16).digest()
        keys.append(parent)
    return keys


def reusable(keys: list[bytes], prompt_length: int) -> list[bytes]:
    """Of a prompt's block keys, those a prefill may take from the cache: at least the last prompt token is
    always computed, since its logits choose the first generated token."""
    return keys[: (prompt_length - 1) // BLOCK_TOKENS]


class PrefixCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.blocks: OrderedDict[bytes, Block] = OrderedDict()
        self.bytes = 0

    def cached(self, keys: list[bytes]) -> int:
        """How many of these blocks, from the first, are cached."""
        found = 0
        while found < len(keys) and keys[found] in self.blocks:
            found += 1
        return found

    def take(self, keys: list[bytes]) -> Taken | None:
        """Per layer, the (heads, tokens, head_dim) keys and values of these cached blocks, joined; None for
        no blocks. Marks them used."""
        if not keys:
            return None
        blocks = [self.blocks[key] for key in keys]
        for key in reversed(keys):
            self.blocks.move_to_end(key)
        layers = range(len(blocks[0].keys))
        return (
            [torch.cat([block.keys[layer] for block in blocks], dim=1) for layer in layers],
            [torch.cat([block.values[layer] for block in blocks], dim=1) for layer in layers],
        )

    def store(
        self, keys: list[bytes], first: int, new_keys: list[torch.Tensor], new_values: list[torch.Tensor]
    ) -> None:
        """Keeps blocks `first` onwards of a prompt whose keys are `keys`, from the (heads, tokens, head_dim)
        keys and values computed for its tokens from block `first` on."""
        for index in range(first, len(keys)):
            if keys[index] in self.blocks:
                continue
            span = slice((index - first) * BLOCK_TOKENS, (index - first + 1) * BLOCK_TOKENS)
            # clone: a slice would keep the whole batch's tensor alive
            block = Block(tuple(k[:, span].clone() for k in new_keys), tuple(v[:, span].clone() for v in new_values))
            self.blocks[keys[index]] = block
            self.bytes += block.nbytes
        for key in reversed(keys):  # the head most recent, as a hit leaves it
            self.blocks.move_to_end(key)
        self._evict()

    def _evict(self) -> None:
        while self.bytes > self.max_bytes and self.blocks:
            _, block = self.blocks.popitem(last=False)
            self.bytes -= block.nbytes
