"""Gunicorn settings, taken from the same validated settings as everything else."""

import os
import shutil
import tempfile
from typing import Any

import gunicorn.http.wsgi

from api.http.server_errors import answer_in_json
from api.settings import ApiSettings
from contract.settings import load_settings

_settings = load_settings(ApiSettings)
# Connections a worker keeps for requests other than streams (submissions, /health, /status, /result).
OTHER_CONNECTIONS = 1000
# Say nothing about the server software in responses (Gunicorn sends "Server: gunicorn" otherwise).
gunicorn.http.wsgi.SERVER = "llm-service"
answer_in_json()
# /metrics adds up every Gunicorn worker's numbers from files here (prometheus_client multiprocess mode).
# It must be set before a worker imports prometheus_client, so here in the master, before the fork.
_own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="llm-api-metrics-")
else:  # a folder named by the user may not exist yet (an empty volume): every worker would fail to boot
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

bind = f"{_settings.api_host}:{_settings.api_port}"
workers = _settings.api_workers
# gevent: an open stream is a parked greenlet, not an OS thread, so thousands fit in one worker
# (docs/benchmarks.md). Connections beyond the streams' budget stay free for everything else.
worker_class = "gevent"
worker_connections = _settings.max_open_streams + OTHER_CONNECTIONS
timeout = 30
# Longer than clients' own idle timeouts (Node's agent keeps sockets 5 s, load balancers often 60 s), so the
# client closes an idle connection first; with Gunicorn's 2 s default, a client polling every 2 s (as the
# examples in docs/api.md do) could reuse a socket just as the server closed it: "socket hang up".
keepalive = 75
graceful_timeout = 10
# Gunicorn's control socket sits at one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn), so two stacks on
# one machine would fight over it, and a read-only root filesystem has no home to put it in. Nothing here
# uses it: Gunicorn answers the same signals.
control_socket_disable = True
accesslog = "-"
# %(U)s is the path without its query string, so nothing passed as a query parameter reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    """Each worker's background work (batches, webhooks) starts now, not at its first request: an api that
    nobody calls still finishes batches and sends webhooks."""
    from api.app import BACKGROUND_KEY

    worker.wsgi.extensions[BACKGROUND_KEY]()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
