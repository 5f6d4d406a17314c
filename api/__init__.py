"""The HTTP service: Flask under Gunicorn. It validates, stores, enqueues and reads; it never imports torch."""

from .app import create_app

__all__ = ["create_app"]
