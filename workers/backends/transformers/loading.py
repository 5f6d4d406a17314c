"""Loading a model and its tokenizer (through accelerate: device_map="auto"), and what the rest of the
backend reads from them."""

from __future__ import annotations

import logging
from typing import Any

import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

logger = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    pass


def load_model(model_name: str, causal: bool = True) -> tuple[Any, Any]:
    """(model, tokenizer): bfloat16 on a GPU, float32 on a CPU, in eval mode. Not causal: the model without a
    head (an embedding model, BERT's kind included)."""
    on_gpu = torch.cuda.is_available()
    dtype = torch.bfloat16 if on_gpu else torch.float32
    logger.info("loading %s (%s, %s)", model_name, "cuda" if on_gpu else "cpu", dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_name)
        kind = AutoModelForCausalLM if causal else AutoModel
        model = kind.from_pretrained(model_name, device_map="auto", dtype=dtype)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"could not load MODEL_NAME={model_name!r} (a hub id, or a local folder such as the one "
            f"`make model` builds): {error}"
        ) from error
    model.eval()
    return model, tokenizer


def context_of(model: Any) -> int | None:
    config = model.config
    return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)


def eos_ids_of(model: Any) -> set[int]:
    eos = model.generation_config.eos_token_id
    return set(eos) if isinstance(eos, list) else {eos} if eos is not None else set()


def vocab_size_of(model: Any, tokenizer: Any) -> int:
    """The ids the model has logits for (it may have more than the tokenizer names)."""
    return int(getattr(model.config, "vocab_size", None) or len(tokenizer))
