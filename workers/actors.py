"""The generate actor: read the task, run the backend, write the result or the reason it failed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from dramatiq.middleware import TimeLimitExceeded

from .backends import Backend, GenerationRequest, GenerationResult
from .core.logging_setup import log_finished_task
from .core.task_store import TaskRecord, TaskStore
from .metrics import WorkerMetrics

logger = logging.getLogger(__name__)
REDIS_OUTAGE_ATTEMPTS = 3
REDIS_OUTAGE_WAIT_SECONDS = 60.0


CANCELLED_MESSAGE = "the client disconnected before the result"
CANCEL_CHECK_SECONDS = 0.25


class TaskCancelled(Exception):
    pass


class CancellableSink:
    """Writes each delta to the task's stream, and stops generation (raising out of the backend, which then
    drops the request from its batch) once the client has asked to cancel; checked at most 4 times a second."""

    def __init__(self, store: TaskStore, task_id: str) -> None:
        self.store = store
        self.task_id = task_id
        self.checked = 0.0

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self.checked >= CANCEL_CHECK_SECONDS:
            self.checked = now
            if self.store.cancel_requested(self.task_id):
                raise TaskCancelled
        self.store.append_delta(self.task_id, text)


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
    }


def make_generate_actor_fn(
    store: TaskStore, backend: Backend, time_limit: float, metrics: WorkerMetrics
) -> Callable[[str], None]:
    """The actor's body; the message carries only the task id, the parameters live in the task record."""

    def generate_text(task_id: str) -> None:
        for attempt in range(1, REDIS_OUTAGE_ATTEMPTS + 1):
            record = store.mark_processing(task_id)  # a second attempt tells stream readers it restarted
            if record is None or record.is_final:
                logger.warning("task %s is %s; skipping", task_id, "gone" if record is None else record.status)
                return
            try:
                with metrics.running.labels(record.model).track_inprogress():
                    run(record)
                return
            except redis.RedisError:
                # The store failed, not the generation. Wait here for Redis rather than handing the message
                # to Dramatiq's retry, which needs Redis itself to requeue it; then generate again.
                logger.warning("task %s: Redis failed mid-task (attempt %d); waiting for it", task_id, attempt)
                if attempt == REDIS_OUTAGE_ATTEMPTS or not wait_for_redis(store.client, REDIS_OUTAGE_WAIT_SECONDS):
                    raise

    def run(record: TaskRecord) -> None:
        task_id = record.task_id
        request = GenerationRequest(
            model=record.model,
            prompt=record.params.get("prompt", ""),
            max_tokens=record.params["max_tokens"],
            temperature=record.params["temperature"],
            top_p=record.params["top_p"],
            deadline=time.monotonic() + time_limit,
            messages=record.params.get("messages"),
            stop=tuple(record.params.get("stop") or ()),
            seed=record.params.get("seed"),
        )
        if store.cancel_requested(task_id):
            fail(record, "Cancelled", CANCELLED_MESSAGE)
            return
        try:
            output = backend.generate(request, on_text=CancellableSink(store, task_id))
        except redis.RedisError:
            raise  # not the generation's fault: generate_text waits for Redis and starts over
        except TaskCancelled:
            fail(record, "Cancelled", CANCELLED_MESSAGE)
        except TimeLimitExceeded:
            # Dramatiq's own limit is a backstop a little past ours; report both the same way.
            fail(record, "TimeoutError", "generation exceeded the task time limit")
        except Exception as error:  # any failure of one generation fails that task, not the worker
            logger.exception("task %s failed", task_id)
            fail(record, type(error).__name__, str(error) or type(error).__name__)
        else:
            finished_at = time.time()
            summary = task_metrics(record, output, finished_at)
            done = store.complete(record, result=output.text, metrics=summary, finished_at=finished_at)
            if done is not None:
                log_finished_task(done)
            metrics.observe_success(
                record.model,
                queue_time=summary["queue_wait_time"], e2e=summary["total_time"], ttft=output.time_to_first_token,
                decode_time=summary["processing_time"] - (output.time_to_first_token or 0.0),
                prompt=output.prompt_tokens, generated=output.completion_tokens, finished_reason=output.finish_reason,
            )  # fmt: skip

    def fail(record: TaskRecord, error_type: str, message: str) -> None:
        failed = store.fail(record, error_type=error_type, error_message=message)
        if failed is not None:
            log_finished_task(failed)
        metrics.observe_failure(record.model, error_type)

    return generate_text
