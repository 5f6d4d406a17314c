"""Build the default offline model: a tiny random-weight GPT-2-shaped causal LM and a byte-level tokenizer.
(`--shape tiny-bert` builds an embedding model instead: a BERT-shaped encoder with sentence-transformers'
mean pooling, trained, it says, for shortened (Matryoshka) vectors.)

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
from transformers import (
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

logger = logging.getLogger(__name__)
EOS = "<|endoftext|>"
# Chats render as "role: content" lines, then "assistant:" (as workers/backends/chat.py does without a
# template). With tools, in the Hermes style of Qwen2.5 and Hermes-2-Pro: a system block lists them in
# <tools></tools> and asks for <tool_call>{"name": ..., "arguments": ...}</tool_call>; an assistant's tool
# calls render as those blocks and a "tool" message as <tool_response>. The random model never follows it;
# it is here so tools reach a real template end to end.
CHAT_TEMPLATE = r"""
{%- set ns = namespace(first=0) -%}
{%- if tools -%}
    {{- 'system: ' -}}
    {%- if messages and messages[0].role == 'system' -%}
        {{- messages[0].content + '\n\n' -}}
        {%- set ns.first = 1 -%}
    {%- endif -%}
    {{- 'You may call one or more functions. Their signatures are within <tools></tools>:\n<tools>\n' -}}
    {%- for tool in tools -%}{{- (tool | tojson) + '\n' -}}{%- endfor -%}
    {{- '</tools>\nFor each call, answer with a JSON object within <tool_call></tool_call>:\n' -}}
    {{- '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n' -}}
{%- endif -%}
{%- for message in messages[ns.first:] -%}
    {%- set content = message.content if message.content is defined and message.content is not none else '' -%}
    {%- if message.role == 'tool' -%}
        {{- 'tool: <tool_response>\n' + (content | string) + '\n</tool_response>\n' -}}
    {%- else -%}
        {{- message.role + ': ' + content -}}
        {%- for call in (message.tool_calls or []) -%}
            {%- set arguments = call.function.arguments -%}
            {{- '\n<tool_call>\n{"name": ' + (call.function.name | tojson) + ', "arguments": ' -}}
            {{- (arguments if arguments is string else (arguments | tojson)) + '}\n</tool_call>' -}}
        {%- endfor -%}
        {{- '\n' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- 'assistant:' -}}{%- endif -%}
"""


@dataclass(frozen=True)
class ModelShape:
    family: str = "gpt2"
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    context: int = 1024
    vocab: int = 257
    """above 257 (bytes and EOS), filler tokens make up the rest, for a realistic output layer"""
    kv_heads: int = 4
    intermediate: int = 512


SHAPES = {
    "tiny": ModelShape(),
    "tiny-llama": ModelShape("llama", hidden=64, layers=2, heads=4, context=1024, kv_heads=2, intermediate=128),
    "tiny-bert": ModelShape("bert", hidden=64, layers=2, heads=4, context=512, intermediate=128),
    "gpt2-124m": ModelShape(hidden=768, layers=12, heads=12, context=1024, vocab=50257),
    # Llama 3.2 1B and Llama 3.1 8B shapes (grouped-query attention, 128k vocabulary), for GPU benchmarks.
    "llama-1b": ModelShape("llama", 2048, 16, 32, 8192, 128256, kv_heads=8, intermediate=8192),
    "llama-8b": ModelShape("llama", 4096, 32, 32, 8192, 128256, kv_heads=8, intermediate=14336),
}


def build_tokenizer(vocab_size: int = 257) -> PreTrainedTokenizerFast:
    """256 byte tokens plus EOS: every UTF-8 string encodes and decodes back unchanged; a chat template
    that knows tools (CHAT_TEMPLATE)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: index for index, symbol in enumerate(alphabet)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([EOS])
    tokenizer.add_tokens([f"<|filler_{index}|>" for index in range(vocab_size - len(tokenizer.get_vocab()))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=EOS,
        eos_token=EOS,
        pad_token=EOS,
        model_max_length=1024,
        chat_template=CHAT_TEMPLATE,
    )


def build_model(tokenizer: PreTrainedTokenizerFast, shape: ModelShape, seed: int) -> PreTrainedModel:
    eos_id = tokenizer.eos_token_id
    torch.manual_seed(seed)
    if shape.family == "llama":
        return build_llama(shape, eos_id)
    if shape.family == "bert":
        return build_bert(shape, len(tokenizer), eos_id)
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
    return _never_greedy_eos(GPT2LMHeadModel(config), eos_id)


def build_llama(shape: ModelShape, eos_id: int) -> PreTrainedModel:
    config = LlamaConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=shape.context,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        tie_word_embeddings=False,
    )
    # Initialised in bfloat16: an 8B model in float32 would need 32 GB just to exist.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        return _never_greedy_eos(LlamaForCausalLM(config), eos_id)
    finally:
        torch.set_default_dtype(default)


MATRYOSHKA_DIMENSIONS = [16, 32, 64]
"""the lengths the tiny BERT's vectors may be shortened to (what `dimensions` accepts for it)"""


def build_bert(shape: ModelShape, vocab: int, pad_id: int) -> PreTrainedModel:
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=shape.context,
        pad_token_id=pad_id,
    )
    config.matryoshka_dimensions = MATRYOSHKA_DIMENSIONS  # not one of BertConfig's own: saved with the rest
    return BertModel(config)


def _never_greedy_eos(model: PreTrainedModel, eos_id: int) -> PreTrainedModel:
    with torch.no_grad():
        # A zero logit for EOS is never the largest of the random ones, so greedy output always runs
        # to max_tokens: lengths in tests are exact. Sampling still ends on EOS now and then.
        model.get_output_embeddings().weight[eos_id].zero_()
    model.generation_config.pad_token_id = eos_id
    return model


def build(out: Path, seed: int = 0, shape: ModelShape | None = None, force: bool = False) -> Path:
    if (out / "config.json").exists() and not force:
        logger.info("model already at %s; pass --force to rebuild", out)
        return out
    shape = shape or ModelShape()
    tokenizer = build_tokenizer(shape.vocab)
    tokenizer.model_max_length = shape.context
    model = build_model(tokenizer, shape, seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if shape.family == "bert":  # sentence-transformers' pooling config, which the worker reads
        (out / "1_Pooling").mkdir(exist_ok=True)
        (out / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}\n')
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"{args.shape} model ready at {build(args.out, args.seed, SHAPES[args.shape], force=args.force)}")


if __name__ == "__main__":
    main()
