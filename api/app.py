"""The Flask app factory. Gunicorn imports the one app built in `api.wsgi`; tests build their own."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from contract.logging_setup import configure_logging
from contract.settings import ConfigurationError, load_settings

from . import errors, metrics, rate_limit, routes, services
from .batches import services as batch_services
from .settings import ApiSettings
from .webhooks.dispatcher import Dispatcher


def create_app(settings: ApiSettings | None = None) -> Flask:
    settings = settings or load_settings(ApiSettings)
    if not settings.api_key_list and not settings.api_keys_file:
        raise ConfigurationError(
            "Invalid configuration:\n  API_KEYS: set at least one key (comma-separated), or API_KEYS_FILE"
        )
    configure_logging(settings.log_dir, settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    svc = services.init_app(app, settings)
    batch_services.init_app(app, svc)
    dispatcher = Dispatcher(svc.redis, svc.store, settings)
    app.before_request(dispatcher.ensure_running)  # the first request a process serves starts it, after the fork
    errors.init_app(app)
    metrics.init_app(app, svc)
    rate_limit.init_app(app, settings)
    routes.init_app(app)
    if settings.cors_origin_list:  # off unless configured: browsers on other origins get no access
        CORS(app, origins=settings.cors_origin_list, allow_headers=["Content-Type", "X-API-Key", "Last-Event-ID"])
    return app
