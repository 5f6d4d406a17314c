"""The Flask app factory. Gunicorn imports the one app built in `api.wsgi`; tests build their own."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from contract.logging_setup import Rotation, configure_logging
from contract.settings import ConfigurationError, load_settings

from . import services
from .batches import file_routes
from .batches import routes as batch_routes
from .batches import services as batch_services
from .docs import routes as docs_routes
from .embeddings import routes as embedding_routes
from .http import error_handlers, health, metrics, rate_limit
from .openai import routes as openai_routes
from .responses import routes as response_routes
from .settings import ApiSettings
from .tasks import routes as task_routes
from .tasks import stream
from .tenants import budgets
from .usage import routes as usage_routes
from .webhooks import routes as webhook_routes
from .webhooks.dispatcher import Dispatcher

BACKGROUND_KEY = "llm_start_background"


def create_app(settings: ApiSettings | None = None) -> Flask:
    settings = settings or load_settings(ApiSettings)
    if not settings.api_key_list and not settings.api_keys_file:
        raise ConfigurationError(
            "Invalid configuration:\n  API_KEYS: set at least one key (comma-separated), or API_KEYS_FILE"
        )
    configure_logging(
        settings.log_dir, settings.log_level, rotation=Rotation(settings.log_max_bytes, settings.log_backups)
    )
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    svc = services.init_app(app, settings)
    batch = batch_services.init_app(app, svc)
    dispatcher = Dispatcher(svc.redis, svc.store, settings)

    def start_background() -> None:
        """The batch supervisor and the webhook dispatcher of this process: started once it serves (after
        Gunicorn forked it, never before), by gunicorn_conf's post_worker_init, else the first request."""
        batch.supervisor.ensure_running()
        dispatcher.ensure_running()

    app.extensions[BACKGROUND_KEY] = start_background
    app.before_request(start_background)
    error_handlers.init_app(app)
    metrics.init_app(app, svc)
    rate_limit.init_app(app, settings)
    app.after_request(budgets.add_headers)
    for blueprint in (
        health.bp,
        task_routes.bp,
        stream.bp,
        docs_routes.bp,
        openai_routes.bp,
        file_routes.bp,
        batch_routes.bp,
        usage_routes.bp,
        response_routes.bp,
        embedding_routes.bp,
        webhook_routes.bp,
    ):
        app.register_blueprint(blueprint)
    if settings.cors_origin_list:  # off unless configured: browsers on other origins get no access
        CORS(app, origins=settings.cors_origin_list, allow_headers=["Content-Type", "X-API-Key", "Last-Event-ID"])
    return app
