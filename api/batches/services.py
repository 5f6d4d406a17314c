"""What the Batch API's views need, built once per app beside the core services (`batch_services()`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from contract.task_store import TaskStore

from ..http.in_flight import InFlight
from ..services import Services
from .files import FileStore
from .store import BatchStore
from .supervisor import Supervisor

EXTENSION_KEY = "llm_batch_services"


@dataclass(frozen=True)
class BatchServices:
    files: FileStore
    batches: BatchStore
    line_store: TaskStore
    """batch lines' task records: kept through the batch's window, not only RESULT_TTL"""
    supervisor: Supervisor
    uploads: InFlight
    """uploads one key has in this process at once (BATCH_MAX_UPLOADS_PER_KEY)"""


def init_app(app: Flask, svc: Services) -> BatchServices:
    settings, client = svc.settings, svc.redis
    files = FileStore(client, settings.batch_file_ttl)
    batches = BatchStore(client, settings.batch_expiry_seconds, settings.batch_file_ttl)
    line_store = TaskStore(client, settings.batch_expiry_seconds + settings.result_ttl)
    supervisor = Supervisor(client, batches, files, line_store, webhook_ttl=settings.result_ttl)
    uploads = InFlight("uploads", settings.batch_max_uploads_per_key, "BATCH_MAX_UPLOADS_PER_KEY")
    found = BatchServices(files, batches, line_store, supervisor, uploads)
    app.extensions[EXTENSION_KEY] = found
    return found


def batch_services() -> BatchServices:
    found: BatchServices = current_app.extensions[EXTENSION_KEY]
    return found
