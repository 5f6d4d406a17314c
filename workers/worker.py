"""The worker process: the module Dramatiq's CLI loads (`python -m workers` runs it with the settings).

Importing it loads the model once for this process, then declares the generate actor on the model's
queue. A model that cannot load stops the process with the reason, so requests wait in Redis for a
healthy worker instead of failing one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries
from dramatiq.middleware.prometheus import Prometheus

from contract import published_tokenizers
from contract.connections import make_broker, make_redis
from contract.dramatiq_internals import refresh_broker_heartbeat
from contract.logging_setup import Rotation, configure_logging
from contract.names import ACTOR_NAME, queue_name
from contract.queue_depth import waiting_requests
from contract.settings import load_settings
from contract.task_store import TaskStore

from .backends import create_backend
from .backends.base import Backend
from .delta_writer import DeltaWriter
from .generate_task import GenerateTask
from .metrics import WorkerMetrics
from .middleware.exhausted_tasks import FailExhaustedTasks
from .middleware.fair_feeder import FairFeeder
from .middleware.heartbeats import Heartbeats
from .middleware.offline_lane import OfflineLane
from .middleware.queue_polling import QueuePolling
from .middleware.ready_file import ReadyFile
from .occupancy import Occupancy
from .settings import WorkerSettings

logger = logging.getLogger(__name__)
# Retries cover infrastructure faults (Redis hiccups); a generation error fails its task at once.
MAX_RETRIES = 5
# Seconds between retries grow from 1 to 16 (Dramatiq's default starts at 15 s: too slow after a blip).
RETRY_MIN_BACKOFF_MS, RETRY_MAX_BACKOFF_MS = 1_000, 16_000
# Dramatiq's hard limit sits past ours, so our clean TimeoutError normally wins.
TIME_LIMIT_GRACE_SECONDS = 5


class CountedTask:
    """The generate actor's callable, counted as interactive while it runs."""

    def __init__(self, task: Callable[[str], None], occupancy: Occupancy) -> None:
        self.task = task
        self.occupancy = occupancy
        self.__name__ = getattr(task, "__name__", type(task).__name__)

    def __call__(self, task_id: str) -> None:
        with self.occupancy.running("interactive"):
            self.task(task_id)


def build_worker_broker(settings: WorkerSettings) -> RedisBroker:
    # Dramatiq's parent process already echoes worker output to its stderr; files only here.
    rotation = Rotation(settings.log_max_bytes, settings.log_backups)
    configure_logging(settings.log_dir, settings.log_level, to_stdout=False, rotation=rotation)
    ready = ReadyFile(settings.worker_ready_file) if settings.worker_ready_file else None
    backend = create_backend(settings)
    backend.load()
    client = make_redis(settings.redis_url, name="llm-worker")
    _publish_tokenizer(client, backend)
    store = TaskStore(client, settings.result_ttl)
    metrics = WorkerMetrics()
    broker = make_broker(settings.redis_url, settings.worker_lost_after, name="llm-worker")
    broker.add_middleware(Prometheus())
    broker.add_middleware(FailExhaustedTasks(store), before=Retries)
    broker.add_middleware(QueuePolling(settings.queue_poll_interval))
    if ready:
        broker.add_middleware(ready)
    broker.add_middleware(
        Heartbeats(
            client,
            models=backend.models,
            backend=backend.name,
            capacity=settings.max_batch_size,
            interval=settings.heartbeat_interval,
            ttl=settings.heartbeat_ttl,
            on_beat=lambda: keep_alive(broker, client, metrics, backend.models),
        )
    )
    task = GenerateTask(store, backend, settings.task_time_limit, metrics, DeltaWriter(store, settings.stream_interval))
    occupancy = Occupancy(settings.max_batch_size, settings.offline_slots)
    poll_ms = max(1, round(settings.queue_poll_interval * 1000))
    broker.add_middleware(OfflineLane(backend.models, task, occupancy, poll_ms))
    broker.add_middleware(FairFeeder(client, backend.models, occupancy, settings.queue_poll_interval))
    dramatiq.set_broker(broker)
    dramatiq.actor(
        actor_name=ACTOR_NAME,
        queue_name=queue_name(settings.model_id),
        broker=broker,
        max_retries=MAX_RETRIES,
        min_backoff=RETRY_MIN_BACKOFF_MS,
        max_backoff=RETRY_MAX_BACKOFF_MS,
        time_limit=int((settings.task_time_limit + TIME_LIMIT_GRACE_SECONDS) * 1000),
    )(CountedTask(task, occupancy))
    # One actor, on the configured model's queue; the queues of any other model the backend serves are
    # declared beside it, and the actor reads each task's model from its record.
    for model in backend.models[1:]:
        broker.declare_queue(queue_name(model))
    logger.info("serving %s", ", ".join(f"{model} (queue {queue_name(model)})" for model in backend.models))
    return broker


def _publish_tokenizer(client: redis.Redis, backend: Backend) -> None:
    """For the api's prompt-token counts; without it (Redis away at start) the api estimates them."""
    tokenizer = backend.tokenizer_json()
    if tokenizer is None:
        return
    try:
        published_tokenizers.publish(client, backend.models[0], tokenizer)
    except redis.RedisError:
        logger.warning("tokenizer not published: Redis unavailable", exc_info=True)


def keep_alive(broker: RedisBroker, client: redis.Redis, metrics: WorkerMetrics, models: list[str]) -> None:
    refresh_broker_heartbeat(broker, models[0])
    for model in models:
        metrics.waiting.labels(model).set(waiting_requests(client, model))


broker = build_worker_broker(load_settings(WorkerSettings))
