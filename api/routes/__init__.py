"""Blueprints, one per feature."""

from flask import Flask

from . import health, tasks


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(tasks.bp)
