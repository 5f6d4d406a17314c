"""The one global app object, for Gunicorn: `gunicorn -c api/gunicorn_conf.py api.wsgi:app`."""

from .app import create_app

app = create_app()
