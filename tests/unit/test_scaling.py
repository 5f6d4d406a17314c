"""The autoscaler's decision as a pure function: properties over every input, then the cases by name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from llm_operator.scaling import Bounds, decide

depths = st.integers(min_value=0, max_value=10_000)
times = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@st.composite
def bounds(draw: st.DrawFn) -> Bounds:
    low = draw(st.integers(min_value=0, max_value=20))
    high = draw(st.integers(min_value=max(low, 1), max_value=50))
    return Bounds(low, high, draw(st.integers(min_value=1, max_value=64)), draw(st.floats(min_value=0, max_value=600)))


@given(
    st.integers(min_value=0, max_value=100), st.one_of(st.none(), depths), bounds(), times, st.one_of(st.none(), times)
)
def test_always_within_bounds(current: int, depth: int | None, limits: Bounds, now: float, low: float | None) -> None:
    replicas = decide(current, depth, limits, now, low).replicas
    assert limits.min_replicas <= replicas <= limits.max_replicas


@given(st.integers(min_value=0, max_value=100), depths, depths, bounds(), times, st.one_of(st.none(), times))
def test_monotonic_in_depth(current: int, a: int, b: int, limits: Bounds, now: float, low: float | None) -> None:
    shallow, deep = sorted((a, b))
    assert decide(current, shallow, limits, now, low).replicas <= decide(current, deep, limits, now, low).replicas


@given(
    st.integers(min_value=0, max_value=100),
    depths,
    bounds(),
    times,
    st.floats(min_value=0, max_value=0.99),
)
def test_never_down_before_the_delay(current: int, depth: int, limits: Bounds, since: float, share: float) -> None:
    held = max(limits.min_replicas, min(limits.max_replicas, current))
    if limits.scale_down_delay > 0:  # (zero means no delay) the depth went low now, or at `since` and stayed low
        assert decide(current, depth, limits, since, None).replicas >= held
        assert decide(current, depth, limits, since + share * limits.scale_down_delay, since).replicas >= held


@given(st.integers(min_value=0, max_value=100), bounds(), times, st.one_of(st.none(), times))
def test_a_read_error_never_scales_to_zero_or_changes_a_bounded_count(
    current: int, limits: Bounds, now: float, low: float | None
) -> None:
    replicas = decide(current, None, limits, now, low).replicas
    assert replicas == max(limits.min_replicas, min(limits.max_replicas, current))
    if current > 0:
        assert replicas > 0


def test_the_cases_by_name() -> None:
    limits = Bounds(min_replicas=0, max_replicas=4, target_queue_length=10, scale_down_delay=30)
    assert decide(0, 1, limits, 0, None).replicas == 1  # from zero as soon as one request waits
    assert decide(1, 35, limits, 0, None).replicas == 4  # ceil(35 / 10) = 4, at once
    assert decide(4, 500, limits, 0, None).replicas == 4  # never above max
    waiting = decide(4, 0, limits, 100, None)
    assert (waiting.replicas, waiting.low_since) == (4, 100)  # low, but not for long enough
    assert decide(4, 0, limits, 129, waiting.low_since).replicas == 4
    assert decide(4, 0, limits, 130, waiting.low_since).replicas == 0  # 30 s low: down to zero
    assert decide(4, 25, limits, 131, waiting.low_since).replicas == 3  # partial scale-down after the delay
    assert decide(2, 15, limits, 140, 100).low_since is None  # depth back up: the timer restarts
    assert decide(3, None, limits, 0, None).replicas == 3  # Redis unreadable: hold


@given(st.integers(min_value=0, max_value=100), depths, bounds(), times, st.one_of(st.none(), times))
def test_batch_lines_keep_one_replica_up_and_never_add_more(
    current: int, depth: int, limits: Bounds, now: float, low: float | None
) -> None:
    with_batch = decide(current, depth, limits, now, low, batch_waiting=True).replicas
    without = decide(current, depth, limits, now, low).replicas
    # (bounds() keeps max_replicas at least 1) one replica at least, otherwise what the queue asks for
    assert with_batch == max(without, 1)


def test_batch_lines_wake_a_model_at_zero() -> None:
    limits = Bounds(0, 4, 32, 300)
    assert decide(0, 0, limits, 0.0, None).replicas == 0
    assert decide(0, 0, limits, 0.0, None, batch_waiting=True).replicas == 1
    assert decide(0, 1000, limits, 0.0, None, batch_waiting=True).replicas == 4  # the interactive depth rules above one
