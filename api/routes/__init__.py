"""Blueprints, one per feature."""

from flask import Flask

from . import batches, docs, files, health, openai_routes, stream, tasks


def init_app(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(stream.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(openai_routes.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(batches.bp)
