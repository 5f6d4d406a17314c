"""The three log files every process writes (app, errors, one JSON line per finished task) and stdout.

Each file is rotated at LOG_MAX_BYTES with LOG_BACKUPS kept, so a part's logs take at most
3 × (LOG_BACKUPS + 1) × LOG_MAX_BYTES on disk (an emptyDir with a size limit in the chart). Every process
of a part (Gunicorn's workers, Dramatiq's) writes the same files, so rotation is concurrent-log-handler's,
which takes a file lock around it: logging's RotatingFileHandler assumes one process per file."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler

APP_LOG = "app.log"
ERROR_LOG = "errors.log"
REQUEST_LOG = "llm_requests.log"
REQUEST_LOGGER = "llm_requests"
FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
MAX_MESSAGE_CHARS = 2000
"""a log message's longest text; what a client sent can be long"""
_CONTROL = {code: f"\\x{code:02x}" for code in range(32) if chr(code) not in "\t"} | {0x7F: "\\x7f"}


class OneLineFormatter(logging.Formatter):
    """Each message on one line and cut to MAX_MESSAGE_CHARS: text a client sent (a field name, a model
    name) can neither forge a log line with a newline nor fill the disk with one message. A traceback
    still follows on its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        message = record.message
        if len(message) > MAX_MESSAGE_CHARS:
            message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message)} characters)"
        record.message = message.translate(_CONTROL)
        return super().formatMessage(record)


@dataclass(frozen=True)
class Rotation:
    max_bytes: int = 50 * 1024 * 1024
    backups: int = 3

    def handler(self, path: Path) -> logging.Handler:
        return ConcurrentRotatingFileHandler(path, maxBytes=self.max_bytes, backupCount=self.backups)


def configure_logging(log_dir: Path, level: str, *, to_stdout: bool = True, rotation: Rotation = Rotation()) -> None:
    """Idempotent: safe to call again in a forked process or a test."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = OneLineFormatter(FORMAT)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in [h for h in root.handlers if getattr(h, "_llm_owned", False)]:
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [rotation.handler(log_dir / APP_LOG), rotation.handler(log_dir / ERROR_LOG)]
    handlers[1].setLevel(logging.ERROR)
    if to_stdout:
        handlers.append(logging.StreamHandler(sys.stdout))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._llm_owned = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    _configure_request_log(log_dir, rotation)


def _configure_request_log(log_dir: Path, rotation: Rotation) -> None:
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = rotation.handler(log_dir / REQUEST_LOG)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
