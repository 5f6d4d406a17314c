"""The Hugging Face transformers backend, by job: `loading` (the model and tokenizer, through accelerate),
`inputs` (a request's prompt rendered, tokenized and checked against the model), `submission` (the engine
request: sampling settings, grammar, deadline), `outputs` (collecting the engine's tokens: detokenising,
stop strings, logprobs, the result), and `backend`, the TransformersBackend that runs them in that order."""

from .backend import TransformersBackend

__all__ = ["TransformersBackend"]
