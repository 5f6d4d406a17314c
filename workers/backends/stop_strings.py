"""Stop strings over streamed text: passes text on as soon as it cannot be the start of a stop string,
and ends it before the first stop string found, so no client ever sees part of one (or, with
include_stop_str_in_output, right after it)."""

from __future__ import annotations

from .base import TextSink


class StopStrings:
    def __init__(self, stops: tuple[str, ...], on_text: TextSink, keep: bool = False) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self.keep = keep
        """the stop string found stays at the end of the text"""
        self.on_text = on_text
        self.text = ""
        self.sent = 0
        self.hit = False

    def feed(self, delta: str) -> None:
        if self.hit:
            return
        self.text += delta
        found = [(index, stop) for stop in self.stops if (index := self.text.find(stop)) >= 0]
        if found:
            self.hit = True
            index, stop = min(found, key=lambda place: place[0])  # the earliest; on a tie, the first listed
            self.text = self.text[: index + (len(stop) if self.keep else 0)]
            self._send(len(self.text))
            return
        self._send(len(self.text) - self._held_back())

    def finish(self) -> str:
        """At the end, what was held back goes out; returns the whole text."""
        self._send(len(self.text))
        return self.text

    def _held_back(self) -> int:
        """The longest end of the text that is a proper start of some stop string."""
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.text)), longest, -1):
                if self.text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def _send(self, upto: int) -> None:
        if upto > self.sent:
            self.on_text(self.text[self.sent : upto])
            self.sent = upto
