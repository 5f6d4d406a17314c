"""The offline model: deterministic from its seed, and its tokenizer round-trips any UTF-8 text."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.model_builder import build, build_tokenizer


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tmp_path: Path) -> None:
    first = build(tmp_path / "a", seed=7)
    second = build(tmp_path / "b", seed=7)
    other = build(tmp_path / "c", seed=8)
    weights = [(path / "model.safetensors").read_bytes() for path in (first, second, other)]
    assert weights[0] == weights[1] != weights[2]


def test_existing_model_is_kept_unless_forced(tmp_path: Path) -> None:
    build(tmp_path / "m", seed=1)
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    build(tmp_path / "m", seed=2)
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    build(tmp_path / "m", seed=2, force=True)
    assert (tmp_path / "m" / "model.safetensors").read_bytes() != before


@pytest.mark.parametrize("text", ["plain ascii", "héllo wörld", "世界 🎉 emoji", "tabs\tand\nnewlines", "  spaces  "])
def test_tokenizer_round_trips_utf8_one_token_per_byte(text: str) -> None:
    tokenizer = build_tokenizer()
    ids = tokenizer(text)["input_ids"]
    assert len(ids) == len(text.encode())
    assert tokenizer.decode(ids) == text
