"""The kinds of failure a task record names in `error_type`, written by a worker (or the api's batch
supervisor) and read by the api, which answers each with its own status. Any other exception during
generation is recorded under its own class name; these are the kinds something acts on. The values are on
the wire (records, events, webhooks, docs/api.md): never rename one."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    CONTEXT_LENGTH = "ContextLengthError"
    """the prompt plus max_tokens exceed the model's context (400)"""
    TIMEOUT = "TimeoutError"
    """generation ran past TASK_TIME_LIMIT (504)"""
    CANCELLED = "Cancelled"
    """the client of a /v1 request went away, and generation stopped"""
    WORKER_LOST = "WorkerError"
    """the queue gave up on the task's message after its retries"""
    REFUSED = "InvalidRequestError"
    """the worker refused the request once it saw the model (contract.refusals; 400 naming the field)"""
    BATCH_CANCELLED = "batch_cancelled"
    """a batch line never run: its batch was cancelled"""
    BATCH_EXPIRED = "batch_expired"
    """a batch line never run: its batch's completion window passed"""


TIME_LIMIT_MESSAGE = "generation exceeded the task time limit (TASK_TIME_LIMIT)"
