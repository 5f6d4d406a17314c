"""The batching engines: one model per worker process, many requests generating together.

Two engines take the same EngineRequest and answer on the same queue (types.py): BatchEngine (this
project's own, the faster one on CPU) and PagedEngine (transformers' continuous-batching manager with a
paged KV cache, the faster one on GPU). ENGINE=auto picks by device (factory.py); docs/benchmarks.md has
the measurements. Importing this package loads no torch.
"""
