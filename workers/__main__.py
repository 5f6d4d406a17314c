"""`python -m workers`: start a Dramatiq worker for the configured model, sized from the settings.

Extra arguments go to Dramatiq's CLI (for example `--verbose`).
"""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main
from dramatiq.cli import make_argument_parser

from .core.settings import load_settings


def main() -> int:
    settings = load_settings()  # fail here, naming the variable, before any process forks
    args = ["workers.worker", "--processes", "1", "--threads", str(settings.worker_threads), *sys.argv[1:]]
    return int(dramatiq_main(make_argument_parser().parse_args(args)) or 0)


if __name__ == "__main__":
    sys.exit(main())
