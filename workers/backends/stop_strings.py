"""Stop strings over streamed text: passes text on as soon as it cannot be the start of a stop string,
and ends it before the first stop string found, so no client ever sees part of one."""

from __future__ import annotations

from .base import TextSink


class StopStrings:
    def __init__(self, stops: tuple[str, ...], on_text: TextSink) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self.on_text = on_text
        self.text = ""
        self.sent = 0
        self.hit = False

    def feed(self, delta: str) -> None:
        if self.hit:
            return
        self.text += delta
        found = [index for index in (self.text.find(stop) for stop in self.stops) if index >= 0]
        if found:
            self.hit = True
            self.text = self.text[: min(found)]
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
