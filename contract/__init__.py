"""The contract between the api, the workers and the operator: names in Redis and on the queue, task
statuses and parameters, the task store, event streams, heartbeats, the model registry, shared settings,
and how to connect to Redis and the broker.

All three parts import this package; it imports none of them, and never torch or transformers.
"""
