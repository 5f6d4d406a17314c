"""Gunicorn settings, taken from the same validated settings as everything else."""

from workers.core.settings import load_settings

_settings = load_settings()

bind = f"{_settings.api_host}:{_settings.api_port}"
workers = _settings.api_workers
worker_class = "gthread"
threads = _settings.api_threads
timeout = 30
graceful_timeout = 10
accesslog = "-"
# %(U)s is the path without its query string, so nothing passed as a query parameter reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
