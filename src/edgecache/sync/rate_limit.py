"""Momento's rate limit, kept by the sync Worker: a token bucket per region.

Momento allows about 100 cache operations per second per region by default, a soft limit
(momento.md §5); past it, it answers HTTP 429 (REST) or grpc-status 8 RESOURCE_EXHAUSTED
(gRPC-web), which the client raises as ``LimitExceededError``. A burst replay in three
regions at once makes far more calls than that, so the sync Worker paces each region's
Momento calls itself (``MOMENTO_OPS_PER_SECOND``, per region, default 100):

* **The bucket.** ``ops_per_second`` = r. The bucket holds b = max(1, r // 10) calls and
  refills at r - b per second (r when r < 10), so for r >= 10 no one-second window ever sees
  more than b + (r - b) = r calls start. A call takes a token, or reserves the next one and
  waits for it (the injected ``sleep``): reservations are handed out in call order, so
  concurrent calls keep their order. Calls to a region count in *that* region's bucket,
  whichever region's drain makes them (a drain invalidates the entries of the others).
* **A 429.** Whatever the pacing, Momento may refuse (other clients share the account: the
  edge Workers). The client's ``on_error`` tells the bucket (:meth:`MomentoRateLimit.saw`):
  it empties and the region's next call waits ``retry-after`` seconds if Momento gave one,
  else ``PAUSE_SECONDS``. The refused call is not retried here: it failed, and the replay's
  crash order already says what a failed call leaves behind (the write stays queued, its
  record unchanged or settled, never lost or reordered: ``replay``'s module docstring); the
  run ends and the next trigger goes on, paced.
* **Wall time.** A Worker's ``waitUntil`` work is cut 30 s after the response, and a
  replay's lease must outlast a window's Momento calls by ``replay.LEASE_MARGIN_SECONDS``.
  So a call never waits more than ``max_wait`` (``MAX_WAIT_SECONDS``, or half the
  client's ``MOMENTO_TIMEOUT_MS`` if that is less: the wait happens inside the call's
  timeout), nor past its invocation's ``deadline`` (``SyncApp`` gives it the run's wall
  time plus the lease margin, within the 30 s of ``waitUntil``): then it fails at once with a ``LimitExceededError`` (nothing was sent, no
  subrequest counted), and the run stops as it would on Momento's own 429.

The buckets live as long as the isolate (one :class:`MomentoRateLimit` per ``SyncApp``):
invocations that run in the same isolate share them. Other isolates and the edge Workers
have their own, which is why a 429 must still be survivable.

Errors: ``LimitExceededError`` (``momento.errors``) for a call that would wait too long.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from ..http import Clock, Fetch, Request, Response
from ..logs import Log
from ..momento.errors import LimitExceededError, MomentoError

__all__ = ["MomentoRateLimit", "TokenBucket", "Sleep", "DEFAULT_OPS_PER_SECOND", "MAX_WAIT_SECONDS", "PAUSE_SECONDS",
           "WAIT_UNTIL_SECONDS"]

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_OPS_PER_SECOND = 100
"""Momento's default soft limit per region (momento.md §5)."""

MAX_WAIT_SECONDS = 1.0
"""The longest one call may wait for its slot: a window's bookkeeping is about eight
Momento calls one after another, and together they must fit the lease's 10 s margin."""

WAIT_UNTIL_SECONDS = 30.0
"""How long the runtime lets ``ctx.waitUntil`` work run after the response
(python-workers.md): where a webhook's drain runs."""

PAUSE_SECONDS = 0.25
"""How long a region pauses after a 429 that named no ``retry-after``, on top of emptying
its bucket: short enough that the refused run's last calls (the lease's release) still wait
for their slot rather than be refused. A longer hint is honoured: then those calls are
refused unsent, and the lease expires on its own (``replay.lease_ttl``, seconds)."""


class TokenBucket:
    """One region's pacing (module docstring); time is whatever ``now`` the caller passes."""

    def __init__(self, ops_per_second: int, now: float) -> None:
        if ops_per_second < 1:
            raise ValueError("ops_per_second must be at least 1")
        self.capacity = max(1, ops_per_second // 10)
        self.rate = float(ops_per_second - self.capacity if ops_per_second >= 10 else ops_per_second)
        self.tokens = float(self.capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until the next call may start, without taking anything."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> float:
        """Take a token (reserve the next one if none is left); the seconds to wait for it."""
        wait = self.wait(now)
        self.tokens -= 1
        return wait

    def pause(self, now: float, seconds: float) -> None:
        """Momento refused: nothing more for ``seconds`` (reservations already made wait too)."""
        self._refill(now)
        self.tokens = min(self.tokens, 0.0) - seconds * self.rate


class MomentoRateLimit:
    """The buckets of every region, on the injected clock and sleep."""

    def __init__(self, ops_per_second: int, clock: Clock, sleep: Sleep, log: Log,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.ops_per_second = ops_per_second
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self.log = log
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, region: str) -> TokenBucket:
        if region not in self._buckets:
            self._buckets[region] = TokenBucket(self.ops_per_second, self.clock())
        return self._buckets[region]

    def until(self, deadline: float) -> "_Invocation":
        """The throttle of one invocation (``regional.RegionThrottle``): no call waits past
        ``deadline`` (the clock's time)."""
        return _Invocation(self, deadline)

    def saw(self, region: str, error: MomentoError) -> None:
        if not isinstance(error, LimitExceededError):
            return
        pause = PAUSE_SECONDS if error.retry_after is None else error.retry_after
        self.bucket(region).pause(self.clock(), pause)
        self.log("momento.rate_limited", level="warning", region=region, operation=error.operation,
                 pause_seconds=pause, reason="Momento answered 429 / RESOURCE_EXHAUSTED; the region's calls slow down")


class _Invocation:
    def __init__(self, limit: MomentoRateLimit, deadline: float) -> None:
        self.limit = limit
        self.deadline = deadline

    def saw(self, region: str, error: MomentoError) -> None:
        self.limit.saw(region, error)

    def wrap(self, region: str, fetch: Fetch) -> Fetch:
        limit = self.limit

        async def paced(request: Request) -> Response:
            bucket = limit.bucket(region)
            now = limit.clock()
            wait = bucket.wait(now)
            if wait > limit.max_wait or now + wait > self.deadline:
                raise LimitExceededError(
                    f"{region}: the next Momento call may start in {wait:.2f}s, past what this run can wait "
                    f"(MOMENTO_OPS_PER_SECOND={limit.ops_per_second}); not sent",
                    operation="rate-limit",
                )
            bucket.take(now)
            if wait > 0:
                await limit.sleep(wait)
            return await fetch(request)

        return paced
