"""`python -m workers`: start a Dramatiq worker for the configured model, sized from the settings.

Extra arguments go to Dramatiq's CLI (for example `--verbose`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from contract.settings import load_settings

from .settings import WorkerSettings


def metrics_environment(settings: WorkerSettings, directory: str) -> dict[str, str]:
    """Set before any process imports prometheus_client: its multiprocess mode is chosen at import."""
    return {
        "PROMETHEUS_MULTIPROC_DIR": directory,
        "dramatiq_prom_db": directory,
        "dramatiq_prom_host": settings.worker_metrics_host,
        "dramatiq_prom_port": str(settings.worker_metrics_port),
    }


def main() -> int:
    settings = load_settings(WorkerSettings)  # fail here, naming the variable, before any process forks
    # A fresh directory per start, so counters begin at zero and never mix with another worker's.
    directory = tempfile.mkdtemp(prefix="llm-worker-metrics-")
    os.environ.update(metrics_environment(settings, directory))
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    args = ["workers.worker", "--processes", "1", "--threads", str(settings.max_batch_size), *sys.argv[1:]]
    try:
        return int(dramatiq_main(make_argument_parser().parse_args(args)) or 0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
