"""What the views need, built once per app and reached through `services()`."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, current_app

from workers.core.redis_client import make_broker, make_redis
from workers.core.settings import Settings
from workers.core.task_store import TaskStore

from .key_file import KeyFile

EXTENSION_KEY = "llm_services"


@dataclass(frozen=True)
class Services:
    settings: Settings
    redis: redis.Redis
    store: TaskStore
    broker: RedisBroker
    key_file: KeyFile | None


def init_app(app: Flask, settings: Settings) -> Services:
    client = make_redis(settings)
    key_file = KeyFile(settings.api_keys_file) if settings.api_keys_file else None
    found = Services(settings, client, TaskStore(client, settings.result_ttl), make_broker(settings), key_file)
    app.extensions[EXTENSION_KEY] = found
    return found


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
