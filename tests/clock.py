"""The one fake clock of the test suite: time that moves only when a test says so.

The core takes ``now`` as a parameter (a ``Clock``: seconds since the epoch); TTLs, backoff,
leases and ``Age`` are all read from it, so no test sleeps to let time pass.
"""

from __future__ import annotations

START = 1_800_000_000.0  # 2027-01-15: a fixed, recognisable instant


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
