"""Log-probabilities in OpenAI's two shapes, from the worker's entries (one per token: id, token, bytes,
logprob, and the most likely alternatives in `top`). They are the model's own log-softmax, before
temperature, penalties or any other processing (vLLM's default)."""

from __future__ import annotations

from typing import Any

Entries = list[dict[str, Any]]


def chat(entries: Entries) -> dict[str, Any]:
    return {"content": [{**_token(entry), "top_logprobs": [_token(top) for top in entry["top"]]} for entry in entries]}


def completion(entries: Entries, offset: int = 0) -> dict[str, Any]:
    """The legacy shape. As in vLLM, each `top_logprobs` holds the chosen token besides its alternatives; it
    is keyed by token text, so tokens that decode alike (parts of one UTF-8 character) share a key, where the
    chosen token's value is kept."""
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry["token"])
    return {
        "tokens": [entry["token"] for entry in entries],
        "token_logprobs": [entry["logprob"] for entry in entries],
        "top_logprobs": [
            None
            if entry["logprob"] is None
            else {**{top["token"]: top["logprob"] for top in entry["top"]}, entry["token"]: entry["logprob"]}
            for entry in entries
        ],
        "text_offset": offsets,
    }


def _token(entry: dict[str, Any]) -> dict[str, Any]:
    return {"token": entry["token"], "logprob": entry["logprob"], "bytes": entry["bytes"]}
