"""Build the default offline model: a tiny random-weight GPT-2-shaped causal LM and a byte-level tokenizer.

Deterministic from a seed, built in seconds, downloads nothing. Its output is gibberish by design: it
exists so the whole service runs and is tested without a model hub. Usage:

    python -m workers.model_builder --out models/tiny-random-gpt2 [--seed 0] [--force]
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)
EOS = "<|endoftext|>"


@dataclass(frozen=True)
class TinyShape:
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    context: int = 1024


def build_tokenizer() -> PreTrainedTokenizerFast:
    """256 byte tokens plus EOS: every UTF-8 string encodes and decodes back unchanged."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: index for index, symbol in enumerate(alphabet)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([EOS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=EOS, eos_token=EOS, pad_token=EOS, model_max_length=1024
    )


def build_model(tokenizer: PreTrainedTokenizerFast, shape: TinyShape, seed: int) -> GPT2LMHeadModel:
    eos_id = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=shape.context,
        n_embd=shape.hidden,
        n_layer=shape.layers,
        n_head=shape.heads,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        # A zero logit for EOS is never the largest of the random ones, so greedy output always runs
        # to max_tokens: lengths in tests are exact. Sampling still ends on EOS now and then.
        model.lm_head.weight[eos_id].zero_()
    model.generation_config.pad_token_id = eos_id
    return model


def build(out: Path, seed: int = 0, shape: TinyShape | None = None, force: bool = False) -> Path:
    if (out / "config.json").exists() and not force:
        logger.info("model already at %s; pass --force to rebuild", out)
        return out
    tokenizer = build_tokenizer()
    tokenizer.model_max_length = (shape or TinyShape()).context
    model = build_model(tokenizer, shape or TinyShape(), seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"tiny model ready at {build(args.out, args.seed, force=args.force)}")


if __name__ == "__main__":
    main()
