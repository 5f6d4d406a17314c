"""What the api and the workers share: settings, contracts, the task store, heartbeats, the broker.

Nothing here imports torch or transformers.
"""
