"""The hybrid logical clock of the write stamps (``edgecache.hlc``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edgecache.hlc import COUNTER_LIMIT, HybridClock, Stamp

T = 1_800_000_000.0


def test_two_writes_in_one_millisecond_still_order() -> None:
    clock = HybridClock()
    first, second = clock.tick(T), clock.tick(T)
    assert first == Stamp(int(T * 1000), 0) and second == Stamp(int(T * 1000), 1)
    assert first.encode() < second.encode()


def test_a_clock_that_steps_back_does_not_reorder() -> None:
    clock = HybridClock()
    before = clock.tick(T + 5)
    after = clock.tick(T)  # NTP stepped the wall clock back 5 s
    assert after > before and after.ms == before.ms
    assert clock.tick(T + 6) == Stamp(int((T + 6) * 1000), 0)  # wall time passes it again: back to wall time


def test_the_counter_borrows_the_next_millisecond_instead_of_overflowing() -> None:
    clock = HybridClock()
    clock.last = Stamp(int(T * 1000), COUNTER_LIMIT - 1)
    assert clock.tick(T) == Stamp(int(T * 1000) + 1, 0)


def test_an_observed_stamp_is_before_every_later_tick() -> None:
    clock = HybridClock()
    seen = Stamp(int((T + 60) * 1000), 7)  # from an isolate whose clock is a minute ahead
    clock.observe(seen)
    assert clock.tick(T) > seen


@given(st.lists(st.floats(T - 100, T + 100, allow_nan=False), min_size=1, max_size=50))
def test_stamps_only_grow_and_sort_as_text_in_stamp_order(walls: list[float]) -> None:
    clock = HybridClock()
    stamps = [clock.tick(wall) for wall in walls]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert [s.encode() for s in stamps] == sorted(s.encode() for s in stamps)
    assert all(Stamp.decode(s.encode()) == s for s in stamps)


def test_decode_refuses_what_is_not_a_stamp() -> None:
    for text in ("", "018c", "018C2F3A1B2C0001", "zzzzzzzzzzzzzzzz"):
        try:
            Stamp.decode(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} decoded")
