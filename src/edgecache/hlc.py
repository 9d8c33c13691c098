"""Hybrid logical clock: the receive time every queued write carries (Kulkarni et al.,
"Logical Physical Clocks", 2014).

A stamp is wall-clock milliseconds plus a counter. Within one isolate stamps only grow:

* two writes in the same millisecond get counters 0, 1, ... and so still order;
* a wall clock that steps back (an NTP correction) does not reorder either: the stamp keeps
  the larger millisecond it already handed out and counts on from there, until the wall
  clock passes it again.

Across isolates and regions stamps are as good as the clocks: two writes whose receive
times differ by more than the clocks' disagreement order as they happened; closer ones get
*an* order that every region agrees on (the stamp, then the rest of the write id). That is
what "newest" means at the origin (``sync.ordering``), and the README says under which
clock skew it matches real time.

Encoded as 16 lower-case hex digits (12 of milliseconds, 4 of counter), so stamps, and the
write ids that start with them (``writes.new_write_id``), sort as text in stamp order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stamp", "HybridClock", "COUNTER_LIMIT"]

COUNTER_LIMIT = 0x10000
"""Counters per millisecond (4 hex digits). A 65 537th stamp in one millisecond borrows the
next millisecond, as the HLC paper does when the counter would overflow."""


@dataclass(frozen=True, order=True)
class Stamp:
    ms: int
    counter: int = 0

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    def encode(self) -> str:
        return f"{self.ms:012x}{self.counter:04x}"

    @classmethod
    def decode(cls, text: str) -> "Stamp":
        """The stamp in the first 16 characters of ``text``; ValueError when they are not one."""
        head = text[:16]
        if len(head) != 16 or any(c not in "0123456789abcdef" for c in head):
            raise ValueError("not an HLC stamp (16 lower-case hex digits)")
        return cls(int(head[:12], 16), int(head[12:], 16))


class HybridClock:
    """One isolate's clock for write stamps. Not thread-safe, and needs not be: a Worker
    isolate runs one event loop, and ``tick`` does not await."""

    def __init__(self) -> None:
        self.last = Stamp(0, 0)

    def tick(self, now: float) -> Stamp:
        """A stamp for an event at wall time ``now`` (seconds), greater than every stamp this
        clock handed out or observed before."""
        wall = int(now * 1000)
        if wall > self.last.ms:
            stamp = Stamp(wall, 0)
        elif self.last.counter + 1 < COUNTER_LIMIT:
            stamp = Stamp(self.last.ms, self.last.counter + 1)
        else:
            stamp = Stamp(self.last.ms + 1, 0)
        self.last = stamp
        return stamp

    def observe(self, seen: Stamp) -> None:
        """Take in a stamp from elsewhere (a write this isolate has seen): every later
        ``tick`` is greater than it, so an effect never gets an older stamp than its cause."""
        if seen > self.last:
            self.last = seen
