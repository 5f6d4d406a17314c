"""A key's requests of one kind in progress at once are bounded; other keys keep theirs; ending frees one."""

from __future__ import annotations

import pytest

from api.http.errors import ApiError
from api.http.in_flight import InFlight


def test_past_the_bound_a_key_gets_429_and_others_do_not() -> None:
    uploads = InFlight("uploads", 2, "BATCH_MAX_UPLOADS_PER_KEY")
    with uploads.hold("a"), uploads.hold("a"):
        with pytest.raises(ApiError) as refused, uploads.hold("a"):
            pass
        assert refused.value.status_code == 429 and "BATCH_MAX_UPLOADS_PER_KEY" in refused.value.message
        with uploads.hold("b"):  # another key is not held back
            pass
    with uploads.hold("a"):  # both ended: room again
        assert uploads.held == {"a": 1}
    assert uploads.held == {}


def test_a_failing_request_gives_its_place_back() -> None:
    uploads = InFlight("uploads", 1, "BATCH_MAX_UPLOADS_PER_KEY")
    with pytest.raises(ValueError), uploads.hold("a"):
        raise ValueError("bad file")
    with uploads.hold("a"):
        pass
