"""StopStrings over streamed deltas: what is released at once, what is held back, and where the text ends."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.backends.stop_strings import StopStrings


def stream(stops: tuple[str, ...], deltas: list[str]) -> tuple[list[str], str]:
    """Feeds the deltas one by one; returns what was sent and what finish() returned."""
    sent: list[str] = []
    stopper = StopStrings(stops, sent.append)
    for delta in deltas:
        stopper.feed(delta)
    return sent, stopper.finish()


def test_text_before_the_stop_string_is_released_and_the_rest_cut() -> None:
    sent: list[str] = []
    stopper = StopStrings(("END",), sent.append)

    stopper.feed("Hello END world")

    # Released on that feed, not only at finish()
    assert sent == ["Hello "]
    assert stopper.finish() == "Hello "
    assert sent == ["Hello "]


def test_nothing_after_a_stop_string_is_sent_even_in_later_deltas() -> None:
    sent, final = stream(("STOP",), ["a", "bSTOPc", "more", "text"])

    assert final == "ab"
    assert "".join(sent) == "ab"


def test_a_stop_string_split_across_deltas_is_held_back_then_cut() -> None:
    sent: list[str] = []
    stopper = StopStrings(("</s>",), sent.append)

    stopper.feed("abc</")
    assert sent == ["abc"]  # "</" could begin the stop string: held back

    stopper.feed("s>tail")
    assert stopper.finish() == "abc"
    assert sent == ["abc"]


def test_a_stop_string_spread_over_one_character_deltas_is_found() -> None:
    sent, final = stream(("<|end|>",), ["x", "<", "|", "e", "n", "d", "|", ">", "y"])

    assert final == "x"
    assert sent == ["x"]


def test_text_that_only_starts_like_a_stop_string_is_released_in_full() -> None:
    sent: list[str] = []
    stopper = StopStrings(("</s>",), sent.append)

    stopper.feed("abc</")
    stopper.feed("x done")

    # Released as soon as it diverged, before finish()
    assert "".join(sent) == "abc</x done"
    assert stopper.finish() == "abc</x done"
    assert "".join(sent) == "abc</x done"


def test_a_held_back_start_goes_out_at_finish() -> None:
    sent: list[str] = []
    stopper = StopStrings(("</s>",), sent.append)

    stopper.feed("abc</")
    assert "".join(sent) == "abc"

    assert stopper.finish() == "abc</"
    assert "".join(sent) == "abc</"


@pytest.mark.parametrize(
    ("stops", "deltas", "expected"),
    [
        (("world", "lo"), ["hello world"], "hel"),
        (("lo", "world"), ["hello world"], "hel"),
        (("o w", "l"), ["hello world"], "he"),
        (("zzz", "wor"), ["hello ", "world"], "hello "),
        (("zzz", "yyy"), ["hello ", "world"], "hello world"),
    ],
)
def test_with_several_stop_strings_the_earliest_wins(stops: tuple[str, ...], deltas: list[str], expected: str) -> None:
    sent, final = stream(stops, deltas)

    assert final == expected
    assert "".join(sent) == expected


@pytest.mark.parametrize("stops", [(), ("",)], ids=["none", "only-empty"])
def test_without_stop_strings_every_delta_passes_straight_through(stops: tuple[str, ...]) -> None:
    deltas = ["Hel", "lo", " <", "/s> ", "wor", "ld"]

    sent, final = stream(stops, deltas)

    assert sent == deltas
    assert final == "".join(deltas)


def test_feed_after_finish_of_a_stopped_text_sends_nothing() -> None:
    sent: list[str] = []
    stopper = StopStrings(("#",), sent.append)
    stopper.feed("a#b")
    stopper.finish()

    stopper.feed("more")

    assert stopper.finish() == "a"
    assert sent == ["a"]


@st.composite
def split(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


@given(st.data(), st.text(alphabet="ab<>", max_size=30), st.text(alphabet="ab<>", min_size=1, max_size=4))
def test_one_stop_string_ends_the_text_where_it_first_occurs(data: st.DataObject, text: str, stop: str) -> None:
    deltas = data.draw(split(text))

    sent, final = stream((stop,), deltas)

    index = text.find(stop)
    assert final == (text if index < 0 else text[:index])
    assert "".join(sent) == final


@given(
    st.data(),
    st.text(alphabet="abc", max_size=30),
    st.lists(st.text(alphabet="abc", min_size=1, max_size=3), max_size=3),
)
def test_the_joined_deltas_equal_the_final_text_and_hold_no_stop_string(
    data: st.DataObject, text: str, stops: list[str]
) -> None:
    deltas = data.draw(split(text))

    sent, final = stream(tuple(stops), deltas)

    assert "".join(sent) == final
    assert text.startswith(final)
    assert not any(stop in final for stop in stops)


@pytest.mark.parametrize(
    ("stops", "deltas", "expected"),
    [
        (("END",), ["Hello E", "ND world"], "Hello END"),
        (("world", "lo"), ["hello world"], "hello"),
        (("lo w", "lo"), ["hello world"], "hello w"),  # the same start: the first listed wins
    ],
)
def test_with_keep_the_stop_string_ends_the_text(stops: tuple[str, ...], deltas: list[str], expected: str) -> None:
    sent: list[str] = []
    stopper = StopStrings(stops, sent.append, keep=True)
    for delta in deltas:
        stopper.feed(delta)

    assert stopper.hit
    assert stopper.finish() == expected
    assert "".join(sent) == expected
