"""The offline model: deterministic from its seed, and its tokenizer round-trips any UTF-8 text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.backends.chat import plain_chat_template
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


def test_chat_template_renders_plain_chats_as_without_one_and_lists_tools_hermes_style() -> None:
    tokenizer = build_tokenizer()
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) == plain_chat_template(chat)
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    rendered = tokenizer.apply_chat_template(
        [*chat, {"role": "assistant", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "c1", "content": "-3"}],
        tools=[tool],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered.startswith("system: Be brief.\n\nYou may call one or more functions")
    assert f"<tools>\n{json.dumps(tool)}\n</tools>" in rendered
    call_block = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    assert f"assistant: \n{call_block}\n" in rendered
    assert rendered.endswith("tool: <tool_response>\n-3\n</tool_response>\nassistant:")
