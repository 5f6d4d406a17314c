"""Workers: the Dramatiq actor, its backends and the batching engine (`python -m workers` runs one)."""
