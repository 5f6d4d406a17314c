"""What the views need, built once per app and reached through `services()`."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, current_app

from contract.connections import make_broker, make_redis
from contract.task_store import TaskStore

from .http.key_file import KeyFile
from .http.rate_limit import WrongKeys
from .settings import ApiSettings
from .tasks.event_hub import EventHub
from .tenants.book import TenantBook
from .tenants.prompt_tokens import PromptTokens

EXTENSION_KEY = "llm_services"


@dataclass(frozen=True)
class Services:
    settings: ApiSettings
    redis: redis.Redis
    store: TaskStore
    broker: RedisBroker
    key_file: KeyFile | None
    hub: EventHub
    tenants: TenantBook
    prompt_tokens: PromptTokens
    wrong_keys: WrongKeys


def init_app(app: Flask, settings: ApiSettings) -> Services:
    client = make_redis(settings.redis_url, name="llm-api")
    key_file = KeyFile(settings.api_keys_file) if settings.api_keys_file else None
    store = TaskStore(client, settings.result_ttl)
    hub = EventHub(client, settings.max_open_streams, settings.max_open_streams_per_key)
    broker = make_broker(settings.redis_url, name="llm-api")
    wrong_keys = WrongKeys(settings.wrong_key_limit_per_minute)
    found = Services(
        settings, client, store, broker, key_file, hub, TenantBook(client), PromptTokens(client), wrong_keys
    )
    app.extensions[EXTENSION_KEY] = found
    return found


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
