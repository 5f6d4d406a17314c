"""IncrementalDecoder with a fake byte-level tokenizer: deltas join to the final text, partial UTF-8
characters are held back, and a tokenizer that rewrites earlier text never yields a bogus delta."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from workers.backends.streaming import IncrementalDecoder

SPECIAL = 0
EURO = "\u20ac"  # three bytes in UTF-8: e2 82 ac


class ByteTokenizer:
    """Each id stands for some bytes; decoding joins them and replaces invalid UTF-8, as byte-level
    tokenizers do. Id 0 is a special token, dropped when skip_special_tokens is true."""

    def __init__(self, pieces: dict[int, bytes]) -> None:
        self.pieces = {SPECIAL: b"<s>", **pieces}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        kept = [i for i in ids if not (skip_special_tokens and i == SPECIAL)]
        return b"".join(self.pieces[i] for i in kept).decode("utf-8", errors="replace")


class RewritingTokenizer:
    """Decodes a longer sequence to text that does not start with the shorter one's (like a
    SentencePiece tokenizer dropping a leading space once more text follows)."""

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return {1: " hello", 2: "hello world", 3: "hello world!"}[len(ids)]


def decoder(tokenizer: object) -> tuple[IncrementalDecoder, list[str]]:
    sent: list[str] = []
    return IncrementalDecoder(tokenizer, sent.append), sent


def test_each_token_sends_its_new_text_and_the_deltas_join_to_the_final_text() -> None:
    incremental, sent = decoder(ByteTokenizer({1: b"Hello", 2: b",", 3: b" world"}))

    for token in (1, 2, 3):
        incremental.add([token])

    assert sent == ["Hello", ",", " world"]
    assert incremental.finish() == "Hello, world"
    assert sent == ["Hello", ",", " world"]


def test_several_tokens_at_once_send_one_delta() -> None:
    incremental, sent = decoder(ByteTokenizer({1: b"ab", 2: b"cd"}))

    incremental.add([1, 2])

    assert sent == ["abcd"]


def test_special_tokens_are_skipped() -> None:
    incremental, sent = decoder(ByteTokenizer({1: b"hi"}))

    incremental.add([SPECIAL, 1, SPECIAL])

    assert incremental.finish() == "hi"
    assert sent == ["hi"]


def test_a_character_split_across_tokens_is_held_back_until_complete() -> None:
    incremental, sent = decoder(ByteTokenizer({1: b"caf", 2: b"\xc3", 3: b"\xa9", 4: b"!"}))

    incremental.add([1])
    assert sent == ["caf"]

    incremental.add([2])  # decodes to "caf\ufffd": nothing goes out
    assert sent == ["caf"]

    incremental.add([3])
    assert sent == ["caf", "\u00e9"]

    incremental.add([4])
    assert incremental.finish() == "caf\u00e9!"
    assert sent == ["caf", "\u00e9", "!"]


def test_a_three_byte_character_over_three_tokens_comes_out_whole() -> None:
    incremental, sent = decoder(ByteTokenizer({1: b"1 ", 2: b"\xe2", 3: b"\x82", 4: b"\xac"}))

    incremental.add([1])
    incremental.add([2])
    incremental.add([3])
    assert sent == ["1 "]

    incremental.add([4])
    assert sent == ["1 ", EURO]
    assert "\ufffd" not in "".join(sent)


def test_finish_flushes_what_was_held_back_and_returns_the_whole_text() -> None:
    # Given generation stopped in the middle of a character
    incremental, sent = decoder(ByteTokenizer({1: b"ab", 2: b"\xe2\x82"}))
    incremental.add([1])
    incremental.add([2])
    assert sent == ["ab"]

    # When
    final = incremental.finish()

    # Then what the tokenizer makes of it goes out, and the deltas still join to the result
    assert final == "ab\ufffd"
    assert "".join(sent) == final


def test_finish_without_tokens_sends_nothing() -> None:
    incremental, sent = decoder(ByteTokenizer({}))

    assert incremental.finish() == ""
    assert sent == []


def test_a_tokenizer_that_rewrites_earlier_text_sends_no_bogus_delta() -> None:
    incremental, sent = decoder(RewritingTokenizer())

    incremental.add([1])
    assert sent == [" hello"]

    incremental.add([2])
    incremental.add([3])
    assert sent == [" hello"]  # not "ld", nor " world!" cut at the wrong place

    assert incremental.finish() == "hello world!"
    assert sent == [" hello"]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\ufffd"), max_size=20), st.data())
def test_any_text_split_anywhere_in_its_bytes_comes_out_exactly(text: str, data: st.DataObject) -> None:
    raw = text.encode()
    cuts = sorted(set(data.draw(st.lists(st.integers(min_value=1, max_value=max(len(raw) - 1, 1)), max_size=10))))
    bounds = [0, *(cut for cut in cuts if cut < len(raw)), len(raw)]
    pieces = {index + 1: raw[start:end] for index, (start, end) in enumerate(pairwise(bounds))}
    incremental, sent = decoder(ByteTokenizer(pieces))

    for token in pieces:
        incremental.add([token])

    assert "".join(sent) == text  # all of it before finish(): nothing left held back
    assert incremental.finish() == text
    assert "".join(sent) == text
    assert all(sent) and not any("\ufffd" in delta for delta in sent)


def test_special_tokens_are_kept_when_asked() -> None:
    sent: list[str] = []
    incremental = IncrementalDecoder(ByteTokenizer({1: b"hi"}), sent.append, skip_special_tokens=False)

    incremental.add([SPECIAL, 1])

    assert incremental.finish() == "<s>hi"
    assert sent == ["<s>hi"]
