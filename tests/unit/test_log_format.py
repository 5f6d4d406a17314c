"""Log lines cannot be forged or made huge by what a client sends (messages on one line, cut to a bound), and
log files cannot fill a disk (rotated at a size, a bounded number kept, from several processes at once)."""

from __future__ import annotations

import io
import logging
import multiprocessing
from pathlib import Path

from contract.logging_setup import FORMAT, MAX_MESSAGE_CHARS, OneLineFormatter, Rotation, configure_logging


def logged(*args: object, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logger = logging.getLogger("test_log_format")
    logger.addHandler(handler)
    try:
        if exc:
            try:
                raise ValueError("surprise")
            except ValueError:
                logger.exception(*args)
        else:
            logger.warning(*args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_newline_a_client_sent_cannot_start_a_forged_line() -> None:
    text = logged("ignored field %s", "x\n2026-12-05 00:00:00 ERROR [1] api: forged\r")
    assert text.count("\n") == 1 and "x\\x0a2026" in text and "\\x0d" in text


def test_a_long_message_is_cut_and_says_how_long_it_was() -> None:
    text = logged("%s", "y" * 100_000)
    assert len(text) < MAX_MESSAGE_CHARS + 200 and "(100000 characters)" in text


def test_a_traceback_still_follows_on_its_own_lines() -> None:
    text = logged("failed\nhere", exc=True)
    assert text.startswith(text.split("\n")[0]) and "failed\\x0ahere" in text.split("\n")[0]
    assert "Traceback (most recent call last):" in text and "ValueError: surprise" in text


def _write_lines(log_dir: str, count: int) -> None:
    configure_logging(Path(log_dir), "INFO", to_stdout=False, rotation=Rotation(max_bytes=4096, backups=2))
    for index in range(count):
        logging.getLogger("rotation").info("line %d %s", index, "z" * 60)


def test_files_written_by_several_processes_rotate_at_their_bound(tmp_path: Path) -> None:
    writers = [
        multiprocessing.get_context("spawn").Process(target=_write_lines, args=(str(tmp_path), 400)) for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    kept = sorted(path.name for path in tmp_path.glob("app.log*"))
    assert kept == ["app.log", "app.log.1", "app.log.2"]  # the bound: 2 backups, older ones gone
    assert all((tmp_path / name).stat().st_size <= 4096 + 200 for name in kept)
