"""Log-probabilities in OpenAI's two shapes, from the worker's entries (one per token: id, token, bytes,
logprob, and the most likely alternatives in `top`). They are the model's own log-softmax, before
temperature, penalties or any other processing (vLLM's default)."""

from __future__ import annotations

from typing import Any

from .shapes import ChatLogprobs, CompletionLogprobs, TokenLogprob, TopLogprob

Entries = list[dict[str, Any]]


def chat(entries: Entries) -> ChatLogprobs:
    return ChatLogprobs(content=[_chat_entry(entry) for entry in entries])


def _chat_entry(entry: dict[str, Any]) -> TokenLogprob:
    return TokenLogprob(**_token(entry), top_logprobs=[TopLogprob(**_token(top)) for top in entry["top"]])


def completion(entries: Entries, offset: int = 0) -> CompletionLogprobs:
    """The legacy shape. As in vLLM, each `top_logprobs` holds the chosen token besides its alternatives; it
    is keyed by token text, so tokens that decode alike (parts of one UTF-8 character) share a key, where the
    chosen token's value is kept."""
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry["token"])
    return CompletionLogprobs(
        tokens=[entry["token"] for entry in entries],
        token_logprobs=[entry["logprob"] for entry in entries],
        top_logprobs=[
            None
            if entry["logprob"] is None
            else {**{top["token"]: top["logprob"] for top in entry["top"]}, entry["token"]: entry["logprob"]}
            for entry in entries
        ],
        text_offset=offsets,
    )


def _token(entry: dict[str, Any]) -> dict[str, Any]:
    return {"token": entry["token"], "logprob": entry["logprob"], "bytes": entry["bytes"]}
