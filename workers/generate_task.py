"""The generate actor's body: read the task, run the backend, write the result or the reason it failed."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from dramatiq.middleware import TimeLimitExceeded

from contract import embeddings, refusals
from contract.error_kinds import TIME_LIMIT_MESSAGE, ErrorKind
from contract.task_params import TaskParams
from contract.task_store import BY_OWNER, TaskRecord, TaskStore

from .backends.base import (
    Backend,
    ContextLengthError,
    EmbeddingResult,
    GenerationRequest,
    GenerationResult,
    TextSink,
)
from .cancellation import CANCELLED_MESSAGE, CancelCheck, TaskCancelled
from .delta_writer import DeltaWriter
from .metrics import WorkerMetrics
from .request_log import log_finished_task

logger = logging.getLogger(__name__)
REDIS_OUTAGE_ATTEMPTS = 3
REDIS_OUTAGE_WAIT_SECONDS = 60.0


class GenerateTask:
    """Called with a task id (the message carries nothing else; the parameters live in the task record)."""

    def __init__(
        self, store: TaskStore, backend: Backend, time_limit: float, metrics: WorkerMetrics, deltas: DeltaWriter
    ) -> None:
        self.store = store
        self.deltas = deltas
        self.backend = backend
        self.time_limit = time_limit
        self.metrics = metrics

    def __call__(self, task_id: str) -> None:
        for attempt in range(1, REDIS_OUTAGE_ATTEMPTS + 1):
            try:
                record = self.store.mark_processing(task_id)  # a second attempt tells readers it restarted
                if record is None or record.is_final:
                    logger.warning("task %s is %s; skipping", task_id, "gone" if record is None else record.status)
                    return
                with self.metrics.running.labels(record.model).track_inprogress():
                    self.run(record)
                return
            except redis.RedisError:
                self.deltas.discard(task_id)  # the text starts over with the next attempt
                # The store failed, not the generation (or Redis is failing over). Wait here for Redis rather
                # than handing the message to Dramatiq's retry, which needs Redis itself to requeue it (and
                # drops the message when it cannot); then generate again.
                logger.warning("task %s: Redis failed mid-task (attempt %d); waiting for it", task_id, attempt)
                if attempt == REDIS_OUTAGE_ATTEMPTS or not wait_for_redis(self.store.client, REDIS_OUTAGE_WAIT_SECONDS):
                    raise

    def run(self, record: TaskRecord) -> None:
        if self.store.cancel_requested(record.task_id):
            self.stop(record)
            return
        request = generation_request(record.model, record.params, time.monotonic() + self.time_limit)
        try:
            output = self._produce(record, request)
        except redis.RedisError:
            raise  # not the generation's fault: __call__ waits for Redis and starts over
        except TaskCancelled:
            self.stop(record)
        except refusals.RequestRefused as refused:  # the request's fault, answered with 400: no traceback
            logger.info("task %s refused: %s", record.task_id, refused)
            self.fail(record, ErrorKind.REFUSED, str(refused))
        except ContextLengthError as error:
            self.fail(record, ErrorKind.CONTEXT_LENGTH, str(error))
        except (TimeoutError, TimeLimitExceeded) as error:
            # Dramatiq's own limit is a backstop a little past ours; report both the same way.
            self.fail(record, ErrorKind.TIMEOUT, str(error) or TIME_LIMIT_MESSAGE)
        except Exception as error:  # any failure of one generation fails that task, not the worker
            logger.exception("task %s failed", record.task_id)
            self.fail(record, type(error).__name__, str(error) or type(error).__name__)
        else:
            self.complete(record, output)

    def _produce(self, record: TaskRecord, request: GenerationRequest) -> GenerationResult | EmbeddingResult:
        if record.params.embedding:
            return self.backend.embed(request)
        streamed = record.batch_line is None
        return self.backend.generate(
            request,
            on_text=self._writer(record.task_id, streamed),
            on_usage=lambda prompt, generated: self.deltas.count(record.task_id, prompt, generated),
            on_logprobs=lambda entries: self.deltas.logprobs(record.task_id, entries) if streamed else None,
        )

    def complete(self, record: TaskRecord, output: GenerationResult | EmbeddingResult) -> None:
        self.deltas.flush(record.task_id)  # every delta before the final event
        embedding = None
        if isinstance(output, EmbeddingResult):  # an embedding task: its vector, and its usage as a generation's
            embedding = embeddings.encode(output.vector)
            output = GenerationResult("", output.prompt_tokens, 0, finish_reason="stop")
        finished_at = time.time()
        summary = task_metrics(record, output, finished_at)
        done = self.store.complete(
            record,
            result=output.text,
            metrics=summary,
            finished_at=finished_at,
            logprobs=logprobs_of(output),
            embedding=embedding,
        )
        if done is not None:
            log_finished_task(done)
        self.metrics.observe_success(
            record.model,
            queue_time=summary["queue_wait_time"],
            e2e=summary["total_time"],
            ttft=output.time_to_first_token,
            decode_time=summary["processing_time"] - (output.time_to_first_token or 0.0),
            prompt=output.prompt_tokens,
            generated=output.completion_tokens,
            finished_reason=output.finish_reason,
            cached=output.cached_tokens,
        )

    def stop(self, record: TaskRecord) -> None:
        """Generation stopped at a cancel: `cancelled` when the owner asked, else failed (its client went away)."""
        if self.store.cancel_requested(record.task_id) != BY_OWNER:
            self.fail(record, ErrorKind.CANCELLED, CANCELLED_MESSAGE)
            return
        self.deltas.flush(record.task_id)
        cancelled = self.store.cancel(record)
        if cancelled is not None:
            log_finished_task(cancelled)
        self.metrics.observe_failure(record.model, ErrorKind.CANCELLED)

    def fail(self, record: TaskRecord, error_type: str, message: str) -> None:
        self.deltas.flush(record.task_id)  # what was generated before the failure, as before the final event
        failed = self.store.fail(record, error_type=error_type, error_message=message)
        if failed is not None:
            log_finished_task(failed)
        self.metrics.observe_failure(record.model, error_type)

    def _writer(self, task_id: str, streamed: bool) -> TextSink:
        """The backend's text callback: each delta goes to the task's stream, unless the client has gone.
        A batch line is read from its final event only: its deltas are not written."""
        cancel = CancelCheck(self.store, task_id)

        def on_text(text: str) -> None:
            cancel.raise_if_requested()
            if streamed:
                self.deltas.add(task_id, text)

        return on_text


def generation_request(model: str, params: TaskParams, deadline: float) -> GenerationRequest:
    return GenerationRequest(model=model, params=params, deadline=deadline)


def logprobs_of(output: GenerationResult) -> dict[str, Any] | None:
    """The completed event's `logprobs` ({"tokens": [...], "prompt": [...]}), when the task asked for them."""
    found = {"tokens": output.logprobs, "prompt": output.prompt_logprobs}
    return {name: entries for name, entries in found.items() if entries is not None} or None


def task_metrics(record: TaskRecord, output: GenerationResult, finished_at: float) -> dict[str, Any]:
    started_at = record.started_at or finished_at
    processing = max(finished_at - started_at, 1e-9)
    return {
        "queue_wait_time": round(started_at - record.created_at, 4),
        "processing_time": round(processing, 4),
        "total_time": round(finished_at - record.created_at, 4),
        "prompt_tokens": output.prompt_tokens,
        "completion_tokens": output.completion_tokens,
        "tokens_per_second": round(output.completion_tokens / processing, 2),
        "finish_reason": output.finish_reason,
        **({} if output.cached_tokens is None else {"cached_tokens": output.cached_tokens}),
    }


def wait_for_redis(client: redis.Redis, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return True
        except redis.RedisError:
            pass
        time.sleep(0.5)
    return False
