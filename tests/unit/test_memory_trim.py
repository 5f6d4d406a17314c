"""The periodic malloc_trim: scheduled at the interval asked for, off at 0, harmless without glibc."""

from __future__ import annotations

import threading

import pytest

from contract import memory_trim


class FakeLibc:
    def __init__(self) -> None:
        self.calls = 0
        self.twice = threading.Event()

    def malloc_trim(self, pad: int) -> int:
        assert pad == 0  # every free page, not only the top of the heap
        self.calls += 1
        if self.calls >= 2:
            self.twice.set()
        return 1


def test_it_trims_again_and_again_at_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc()
    monkeypatch.setattr(memory_trim, "_glibc", lambda: libc)

    assert memory_trim.start(0.01)
    assert libc.twice.wait(5)


def test_zero_or_no_glibc_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc()
    monkeypatch.setattr(memory_trim, "_glibc", lambda: libc)
    assert not memory_trim.start(0)
    monkeypatch.setattr(memory_trim, "_glibc", lambda: None)
    assert not memory_trim.start(0.01)
    assert libc.calls == 0


def test_this_machines_glibc_is_found() -> None:
    assert memory_trim._glibc() is not None  # Debian, as the images: the trim is really on there
