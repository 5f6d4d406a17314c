"""The three log files every process writes (app, errors, one JSON line per finished task) and stdout."""

from __future__ import annotations

import logging
import sys
from logging.handlers import WatchedFileHandler
from pathlib import Path

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


def configure_logging(log_dir: Path, level: str, *, to_stdout: bool = True) -> None:
    """Idempotent: safe to call again in a forked process or a test."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = OneLineFormatter(FORMAT)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in [h for h in root.handlers if getattr(h, "_llm_owned", False)]:
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [
        WatchedFileHandler(log_dir / APP_LOG),
        WatchedFileHandler(log_dir / ERROR_LOG),
    ]
    handlers[1].setLevel(logging.ERROR)
    if to_stdout:
        handlers.append(logging.StreamHandler(sys.stdout))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._llm_owned = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    _configure_request_log(log_dir)


def _configure_request_log(log_dir: Path) -> None:
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = WatchedFileHandler(log_dir / REQUEST_LOG)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
