"""Log lines cannot be forged or made huge by what a client sends: messages on one line, cut to a bound."""

from __future__ import annotations

import io
import logging

from contract.logging_setup import FORMAT, MAX_MESSAGE_CHARS, OneLineFormatter


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
