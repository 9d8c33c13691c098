"""Replay one region's queued writes to the origin: in order per resource, exactly once as
the origin sees it, with retries, backoff and a dead-letter queue.

One run (``drain_region``) is: take the region's lease, walk the queue oldest first, send
each write to the origin, settle it, release the lease. Every network call goes through the
injected ``fetch``; time and randomness are parameters, so the whole thing runs on CPython
against the Momento stand-in and a fake origin. This module only sequences that I/O: what
an origin outcome leads to (synced, retry after backoff, dead letter) and the origin request
itself are pure decisions in ``writes`` (``settle``, ``origin_request``), and the dead-letter
queue's keep-alive and admin operations live in ``dead_letters``.

Why it is safe (the properties the tests check):

* **Never lost.** A write leaves the queue only after its record says SYNCED or it sits in
  the DLQ. A crash before the record is saved leaves it QUEUED (REPLAYING is never
  written), and the next run replays it; a crash after leaves a SYNCED or FAILED record
  still queued, and the next run finishes that write's bookkeeping (cache refresh, move to
  the DLQ) without asking the origin again. A record this version cannot read is moved to
  the DLQ rather than left to stop the region's queue. A dead letter is never attempted
  again, yet Momento drops every item within 24 h: so each cron run, after its replay work,
  keeps alive the dead letters that entered the last sixth of their TTL (4 h of 24 h, about
  240 sweeps to get it done; ``dead_letters.keep_alive``): UpdateTtl on the record, then
  the id re-scored to now, which also renews the DLQ's TTL. One dead letter costs about one
  call a day; a record found gone is reported as ``dlq.LOST`` and its id dropped.
* **Exactly once at the origin.** Every replay carries ``Idempotency-Key: <write id>`` and
  the origin stores its answer per key: a crash between the origin's 2xx and our
  bookkeeping only makes the next run receive that stored answer again.
* **Ordered per resource.** Writes are walked in queue order; once a write to a resource
  cannot go now (backoff, or it just failed transiently) every later write to that resource
  waits for the next run. Other resources carry on. Of two concurrent runs (webhook and
  cron) the lease lets exactly one through, and a run stops well before its lease expires.
  The lease key lives one write long (``lease_ttl``) and is renewed (SetIf equal) before a
  write that could outlive it, so a crashed run blocks its region for seconds; a run that
  finds its lease taken stops at once and leaves the new holder's lease alone.
  A route with ``coalesce`` or ``bulk_url`` sends a window's writes together
  (``_replay_ready``): one write for several to one resource (``sync.coalesce``, whose
  docstring has why an older write is never sent after a newer one may have been
  applied), many resources per request (``sync.bulk``), a resource's writes still in order.
* **No lost wake-up.** A trigger that finds the lease held leaves a "more work" mark (one
  Set) and tries the lease once more; the holder reads the mark after releasing (one Get,
  plus a Delete when set) and runs again. Either the second try wins, or the lease was taken
  after the mark was set and its holder reads the mark (``drain_region``). So a write queued
  during a run is replayed by that run's call or the next, not left for the cron.
* **Within the platform's limits.** A Worker invocation has a fixed number of subrequests
  (50 on the Free plan) and ``waitUntil`` work is cut after 30 s. Every fetch is counted by
  :class:`SubrequestBudget`; a run only starts a write it can finish, and stops with status
  ``"budget"`` so the next trigger continues where it left off. The keep-alive gets what the
  replay leaves, bounded per run, plus a reserve of ``KEEPALIVE_RESERVE`` the replay does
  not touch: a region whose backlog eats every run's budget must not lose its dead letters.

Errors: none of its own. Momento errors end the run with status ``"error"`` and a
``budget.BudgetExhausted`` with ``"budget"``; either way nothing is lost, the queue still
holds the write.
"""

from __future__ import annotations

import asyncio
import math
from urllib.parse import urlsplit
from dataclasses import asdict, dataclass, field, replace
from typing import Awaitable, Callable

from ..admin import at_risk_after
from ..config import SyncConfig
from ..entries import CachedEntry, EntryFormatError
from ..http import Clock, Fetch, FetchError, FetchTimeout, Response, fetch_with_timeout
from ..keys import QUEUE_KEY
from ..logs import Log
from ..momento.errors import MomentoError
from ..queue import WriteQueue
from ..regional import RegionalClients
from ..routes import Route, match_route
# backoff_seconds and retry_after_seconds are re-exported: they were defined here before.
from ..writes import (RecordFormatError, WriteRecord, WriteState, backoff_seconds, bind,  # noqa: F401
                      origin_request, retry_after_seconds, settle)
from . import bulk
from .budget import BudgetExhausted, SubrequestBudget
from .coalesce import Unit, aftermath, plan, resolve
# The keep-alive's constants are re-exported: they were defined here before.
from .dead_letters import KEEPALIVE_BATCH, KEEPALIVE_RESERVE, keep_alive, keep_alive_after  # noqa: F401

__all__ = [
    "DrainSummary",
    "drain_region",
    "needs_continuation",
    "backoff_seconds",
    "write_cost",
    "RUN_RESERVE",
    "BATCH_SIZE",
    "KEEPALIVE_BATCH",
    "KEEPALIVE_RESERVE",
    "keep_alive_after",
]

BATCH_SIZE = 10
"""Queued ids fetched per SortedSetFetch; more windows follow while the budget allows."""

RUN_RESERVE = 3
"""Subrequests kept back for the end of every run: one SortedSetRemove for the synced writes
not yet removed, one delete of the lease, one SortedSetLength for ``remaining``."""

_WINDOW_COST = 2
"""Before the next window: the SortedSetRemove of the previous window's settled writes, then
the SortedSetFetch."""

_MIN_RUN_COST = 2 + _WINDOW_COST + RUN_RESERVE
"""A run's fixed costs (lease, queue TTL, one window, the end), before any write."""

READY_EXTRA = 2
"""What a write of a ``coalesce``/``bulk_url`` route may cost beyond ``write_cost`` (it waits in
``ready`` and is sent with the window's others, ``_replay_ready``): its ``coalesced_into``
binding before a newer write is sent for it, and then either the Get of the write it is bound
to or, when that one was refused, its own unbinding; plus the lease renewal before its send."""

LEASE_MARGIN_SECONDS = 10.0
"""Time the lease must outlast the run by, beyond the last origin call: the Momento calls that
settle the last write. A run that outlived its lease could overlap the next one and break the
per-resource order (the origin would still apply each write once, thanks to the key)."""

LEASE_SLACK_SECONDS = 5.0
"""How much longer than one write the lease lives: it is renewed (one SetIf equal) before a
write that would start with less than ``origin_timeout + LEASE_MARGIN_SECONDS`` of it left,
so a run renews about every this many seconds, and a crashed run blocks its region for
``lease_ttl`` at most (20 s with the default 10 s origin timeout), not LEASE_SECONDS."""


def lease_ttl(origin_timeout: float, lease_seconds: int) -> int:
    """The lease key's TTL: one write (origin call and bookkeeping) plus the slack, never more
    than LEASE_SECONDS (which bounds a whole run, see ``_Run._wall_seconds``)."""
    return min(lease_seconds, max(1, math.ceil(origin_timeout + LEASE_MARGIN_SECONDS + LEASE_SLACK_SECONDS)))


RECORD_GRACE_SECONDS = 60.0
"""How long a queued id may be seen without its record before it counts as never recorded
(see ``_replay_one``): far more than the edge's three concurrent calls take."""


class _LeaseLost(Exception):
    """The lease expired and another run holds it now: this run must stop at once."""


class _RecordNotYetStored(Exception):
    """A queued id whose record the edge is still writing: the run must stop here."""


def write_cost(region_count: int) -> int:
    """Worst-case subrequests to settle one queued write, checked before each write.

        load the record (Get)                                        1
        the origin request                                           1
        then the dearest outcome of:
          synced:       save record (Set) 1, read own entry (Get) 1,
                        UpdateTtl own entry 1, Delete entry in each
                        other region (n - 1)                      n + 2
          dead-letter:  read own entry 1, Delete it 1,
                        queue.dead_letter (Set, SortedSetPut,
                        SortedSetRemove) 3                            5
          retry:        save record (Set)                             1

    Records an interrupted run left behind cost less and send nothing to the origin: SYNCED
    is load + the entry refresh (n + 1), FAILED load + dead_letter + own entry (6), an
    unreadable one load + set_aside (4).

    The SortedSetRemove of synced writes is batched per window (see ``_WINDOW_COST`` and
    ``RUN_RESERVE``). With two regions that is 7, and the default budget of 45 leaves room
    for at least five writes per run after the fixed costs (lease, queue TTL, window, end).
    """
    return 2 + max(region_count + 2, 5)


@dataclass(frozen=True)
class DrainSummary:
    region: str
    status: str
    """``drained`` (nothing more can go now), ``busy`` (another run holds the lease),
    ``budget`` (subrequests or wall time used up: the next trigger continues),
    ``record-pending`` (a write still being recorded by the edge is next in line: the run
    stopped before it; its own webhook or the next sweep continues) or ``error``."""
    synced: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lost: int = 0
    """Writes whose record expired in Momento: queued ones, and dead letters (keep-alive)."""
    blocked: int = 0
    kept_alive: int = 0
    """Dead letters kept alive in this run: a fresh TTL for the record, re-scored (cron runs)."""
    remaining: int | None = None
    """Writes still in the region's queue when the run ended (None if it could not be read)."""
    subrequests: int = 0
    message: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        if data["message"] is None:
            del data["message"]
        return data


async def drain_region(
    *,
    region: str,
    queue: WriteQueue,
    regions: RegionalClients,
    origin_url: str,
    fetch: Fetch,
    now: Clock,
    config: SyncConfig,
    origin_timeout: float,
    holder_id: str,
    budget: SubrequestBudget,
    log: Log,
    random: Callable[[], float],
    keep_dead_letters: bool = False,
    on_settled=None,
    routes: tuple[Route, ...] = (),
) -> DrainSummary:
    """Replay ``region``'s queued writes until drained, out of budget or out of time.

    ``queue`` and ``regions`` must be built on ``budget.wrap(...)`` (see
    :func:`~edgecache.sync.budget.budgeted_regions`); ``fetch`` reaches the origin and is wrapped here.
    With ``keep_dead_letters`` (the cron sweep) the run then keeps due dead letters alive,
    still under the lease (see the module docstring). ``routes`` (``Config.routes``) say which
    writes coalesce or go in bulk (``_replay_ready``); without them each write goes alone.
    """
    def fresh_run() -> _Run:
        return _Run(
            region=region,
            queue=queue,
            regions=regions,
            origin_url=origin_url.rstrip("/"),
            origin_fetch=budget.wrap(fetch),
            now=now,
            config=config,
            origin_timeout=origin_timeout,
            budget=budget,
            log=log,
            random=random,
            keepalive_reserve=KEEPALIVE_RESERVE if keep_dead_letters else 0,
            on_settled=on_settled,
            routes=routes,
        )

    started_used = budget.used
    summaries = [await fresh_run().run(holder_id)]
    for _ in range(MAX_ROUNDS - 1):
        last = summaries[-1]
        try:
            if last.status == "busy":
                if len(summaries) > 1 and summaries[-2].status == "busy":
                    break  # marked and tried again: the holder will see the mark
                # No lost wake-up: leave word, then try once more. The holder may have read
                # "no mark" and released between our SetIf and our mark; then this second
                # SetIf wins. If it loses too, its holder took the lease after the mark was
                # set, so that holder reads the mark after releasing.
                if not budget.affords(1 + _MIN_RUN_COST):
                    break
                await queue.mark_more_work(config.lease_seconds)
            elif last.status in ("drained", "record-pending"):
                # After the release: did a trigger come while we held the lease?
                if not budget.affords(2 + _MIN_RUN_COST) or not await queue.take_more_work():
                    break
                log("replay.more_work", region=region, reason="a trigger came while this run held the lease")
            else:
                break  # "budget": the work left waits for the next trigger; "error": likewise
        except (MomentoError, FetchError, BudgetExhausted) as exc:
            log("replay.more_work_failed", level="warning", region=region, reason=str(exc))
            break
        summaries.append(await fresh_run().run(holder_id))
    return _merged(summaries, budget.used - started_used)


def needs_continuation(summary: DrainSummary) -> bool:
    """Whether a run's call should start a fresh invocation for the rest of its region: it
    stopped at its budget or wall time with writes left, *and* it settled at least one
    (synced, dead-lettered or found lost). Bounded by construction: each continuation
    follows a run that took writes off the queue, so there are fewer continuations than
    queued writes; an origin that refuses everything transiently settles nothing (its writes
    back off), so it gets none: the cron comes back for them."""
    settled = summary.synced + summary.dead_lettered + summary.lost
    return summary.status == "budget" and settled > 0 and summary.remaining != 0


MAX_ROUNDS = 8
"""Runs one ``drain_region`` call may make after "more work" marks (and busy retries): each
mark is a trigger that came while a run went on; more than this in one invocation is left
to the mark's next reader (the mark stays)."""


def _merged(summaries: list[DrainSummary], subrequests: int) -> DrainSummary:
    """One summary for a call's runs: counts added up; status and ``remaining`` of the last
    run that got the lease (a final "busy" only means someone else has the rest)."""
    ran = [summary for summary in summaries if summary.status != "busy"] or summaries[-1:]
    last = ran[-1]
    counts = {name: sum(getattr(summary, name) for summary in summaries)
              for name in ("synced", "retried", "dead_lettered", "lost", "blocked", "kept_alive")}
    return replace(last, subrequests=subrequests, **counts)


@dataclass
class _Run:
    region: str
    queue: WriteQueue
    regions: RegionalClients
    origin_url: str
    origin_fetch: Fetch
    now: Clock
    config: SyncConfig
    origin_timeout: float
    budget: SubrequestBudget
    log: Log
    random: Callable[[], float]
    keepalive_reserve: int = 0
    """KEEPALIVE_RESERVE on runs that keep dead letters alive, else 0 (and no keep-alive)."""
    on_settled: Callable[[WriteRecord, int], Awaitable[None]] | None = None
    """Live events of a settled write (``sync.live_events``), given the subrequests the run can spare."""
    routes: tuple[Route, ...] = ()
    ready: list[WriteRecord] = field(default_factory=list)
    """Loaded writes of routes with ``coalesce`` or ``bulk_url``, REPLAYING, in queue order,
    waiting to be sent together (``_replay_ready``) at the end of the window."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("synced", "retried", "dead_lettered", "lost", "blocked", "kept_alive"), 0))
    blocked_resources: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    kept: int = 0
    """Ids seen in this run that stay in the queue (blocked or retried): the next window skips them."""
    to_remove: list[str] = field(default_factory=list)
    pending_since: dict[str, float] = field(default_factory=dict)
    """Write id → received_at of writes this run leaves queued, for the stale-write warning."""
    stop_at: float = 0.0
    holder_id: str = ""
    lease_until: float = 0.0
    """When the lease key expires unless renewed (``_keep_lease``)."""
    lease_lost: bool = False

    async def run(self, holder_id: str) -> DrainSummary:
        started_used = self.budget.used
        status, message = "drained", None
        # Lease, queue TTL, one window, one write (the keep-alive's reserve) and the end: less
        # than that does nothing useful, so this region waits for the next trigger without
        # touching Momento.
        if not self.budget.affords(_MIN_RUN_COST + write_cost(len(self.regions.names)) + self.keepalive_reserve):
            return self._summary("budget", "not enough subrequests left for one write", started_used, remaining=None)
        try:
            acquired = await self.queue.acquire_lease(holder_id, self._lease_ttl())
        except (MomentoError, BudgetExhausted) as exc:
            return self._summary("error", str(exc), started_used, remaining=None)
        if self.budget.used == started_used:
            # The lease call did not go through the budget: the clients were built on a raw
            # fetch, and the run would overspend the invocation's subrequests.
            raise RuntimeError("drain_region: queue/regions must be built on budget.wrap(fetch)")
        if not acquired:
            self.log("replay.busy", region=self.region, reason="another run holds the lease")
            return self._summary("busy", None, started_used, remaining=None)

        self.holder_id = holder_id
        self.lease_until = self.now() + self._lease_ttl()
        self.stop_at = self.now() + self._wall_seconds()
        try:
            await self.queue.refresh_ttl()
            status = await self._drain()
            if self.keepalive_reserve:
                await self._keep_dead_letters_alive()
        except (MomentoError, FetchError) as exc:
            # FetchError here came from a Momento call (origin calls handle their own).
            status, message = "error", f"momento: {exc}"
            self.log("replay.error", level="error", region=self.region, reason=message)
        except BudgetExhausted as exc:
            status, message = "budget", str(exc)
        except _LeaseLost as exc:
            status, message = "error", str(exc)
            self.log("replay.lease_lost", level="error", region=self.region, reason=message)
        finally:
            await self._best_effort("flush removals", self._flush_removals())
            if not self.lease_lost:  # deleting it now would free the new holder's lease
                await self._best_effort("release lease", self.queue.release_lease())

        remaining = None
        if self.budget.affords(1):
            remaining = await self._best_effort("count remaining", self.queue.client.sorted_set_length(QUEUE_KEY))
        self._warn_stale()
        summary = self._summary(status, message, started_used, remaining)
        self.log("replay.run", **summary.to_json())
        return summary

    def _wall_seconds(self) -> float:
        """SYNC_WALL_MS, but never so long that the last write could outlive the lease."""
        limit = self.config.lease_seconds - self.origin_timeout - LEASE_MARGIN_SECONDS
        if limit < self.config.wall_seconds:
            self.log("replay.wall_clamped", level="warning", region=self.region, wall_seconds=max(0.0, limit),
                     reason="LEASE_SECONDS is too short for SYNC_WALL_MS plus ORIGIN_TIMEOUT_MS")
        return max(0.0, min(self.config.wall_seconds, limit))

    def _can_start(self, extra: int) -> bool:
        cost = write_cost(len(self.regions.names)) + RUN_RESERVE + self.keepalive_reserve + extra
        return self.budget.affords(cost + self._needs_renewal()) and self.now() < self.stop_at

    def _lease_ttl(self) -> int:
        return lease_ttl(self.origin_timeout, self.config.lease_seconds)

    def _needs_renewal(self) -> bool:
        return self.lease_until - self.now() < self.origin_timeout + LEASE_MARGIN_SECONDS

    async def _keep_lease(self) -> None:
        """Renew the lease before a write that could outlive it (see LEASE_SLACK_SECONDS)."""
        if not self._needs_renewal():
            return
        ttl = self._lease_ttl()
        if not await self.queue.renew_lease(self.holder_id, ttl):
            self.lease_lost = True
            raise _LeaseLost("the sync lease expired and another run took it; stopped to keep the order")
        self.lease_until = self.now() + ttl

    async def _drain(self) -> str:
        while True:
            if not self._can_start(_WINDOW_COST):
                return "budget"
            await self._flush_removals()
            wanted = self.kept + BATCH_SIZE
            window = await self.queue.oldest(wanted)
            fresh = [(write_id, score) for write_id, score in window if write_id not in self.seen]
            for index, (write_id, score) in enumerate(fresh):
                # A write waiting in ``ready`` has spent its load; the rest of its cost is held
                # back for it, plus READY_EXTRA.
                if not self._can_start(len(self.ready) * (write_cost(len(self.regions.names)) + READY_EXTRA)):
                    for later_id, later_score in fresh[index:]:
                        self.pending_since[later_id] = later_score / 1000
                    await self._replay_ready()
                    return "budget"
                await self._keep_lease()
                self.seen.add(write_id)
                try:
                    await self._replay_one(write_id, score)
                except _RecordNotYetStored:
                    await self._replay_ready()
                    return "record-pending"
            await self._replay_ready()
            if len(window) < wanted or not fresh:
                return "drained"

    async def _replay_one(self, write_id: str, score: float) -> None:
        try:
            record = await self.queue.load(write_id)
        except RecordFormatError as exc:
            # Not readable by this version (edge and sync deploy separately): it cannot be
            # replayed, and leaving it first in line would stop the region for good.
            await self.queue.set_aside(write_id, self.now())
            self.counts["dead_lettered"] += 1
            self.log("replay.unreadable", level="error", region=self.region, write_id=write_id,
                     reason=f"{exc}; moved to the dead-letter queue")
            return
        if record is None:
            age = self.now() - score / 1000
            if age < RECORD_GRACE_SECONDS:
                # The edge stores the record and queues the id concurrently (one round trip
                # for the user), so a run can see the id a moment before its record. We do not
                # know its resource, so nothing after it may go either: end the run; the
                # webhook of that very write (or the next sweep) comes right back.
                self.kept += 1
                self.pending_since[write_id] = score / 1000
                self.log("replay.record_pending", region=self.region, write_id=write_id, age_seconds=round(age, 3))
                raise _RecordNotYetStored()
            if age < self.queue.ttl_seconds:
                # Too young to have expired, so it was never stored: the edge could not record
                # this write, sent it to the origin itself (same Idempotency-Key) and could not
                # take the id back out. Nothing to replay; drop the id.
                self.to_remove.append(write_id)
                self.log("replay.orphan_id", level="warning", region=self.region, write_id=write_id,
                         reason="no record: the edge passed this write through synchronously")
                return
            # Expired in Momento (24 h without a touch): nothing can bring it back. Say so
            # loudly, with the id the client was given, and stop carrying the dead id.
            self.counts["lost"] += 1
            self.to_remove.append(write_id)
            self.log("replay.LOST", level="error", region=self.region, write_id=write_id,
                     queued_at=score / 1000, reason="write record expired before it reached the origin")
            return
        if record.state in (WriteState.SYNCED, WriteState.FAILED) and self._waiting_for(record.resource):
            # Settled by an interrupted run that sent it in place of the older writes waiting
            # in ``ready`` (coalescing): they are settled with it, unsent (sync.coalesce).
            self.ready.append(record)
        if record.state is WriteState.SYNCED:
            # An earlier run stopped after saving SYNCED, maybe before refreshing the caches:
            # redo that (idempotent) and drop the id. The origin is not asked again.
            self.to_remove.append(write_id)
            self.log("replay.resumed", region=self.region, write_id=write_id, status=record.origin_status,
                     reason="synced by an interrupted run")
            await self._refresh_entries(record)
            return
        if record.state is WriteState.FAILED:
            # An earlier run stopped inside the move to the DLQ (or an operator's retry
            # stopped half-way): finish the move. Only removing the id would leave the write
            # in neither set.
            await self.queue.dead_letter(record, record.finished_at or self.now())
            self.counts["dead_lettered"] += 1
            self.log("replay.resumed", region=self.region, write_id=write_id, status=record.origin_status,
                     reason="dead-lettered by an interrupted run")
            await self._refresh_entries(record)
            return

        blocked_by = None
        if record.resource in self.blocked_resources:
            blocked_by = "an earlier write to the same resource is waiting"
        elif record.next_attempt_at > self.now():
            blocked_by = f"backoff until {record.next_attempt_at:.0f}"
        if blocked_by:
            self.blocked_resources.add(record.resource)
            self.counts["blocked"] += 1
            self._keep(record)
            self.log("replay.blocked", region=self.region, write_id=record.id, attempt=record.attempts, reason=blocked_by)
            # Older writes of its resource waiting in ``ready`` wait too: this one may have
            # been sent in their place already (coalescing), and an older write must not be
            # applied after it.
            for waiting in self._waiting_for(record.resource):
                self.ready.remove(waiting)
                if waiting.state is WriteState.REPLAYING:  # not one an interrupted run settled
                    self._keep(waiting)
            return

        replaying = record.to(WriteState.REPLAYING)
        route = self._route_of(record)
        if route is not None and (route.coalesce or route.bulk_url):
            self.ready.append(replaying)  # sent with the window's others (_replay_ready)
            return
        response, error = await self._send(replaying)
        await self._settle(replaying, response, error)

    async def _settle(self, replaying: WriteRecord, response: Response | None, error: str) -> WriteRecord:
        """The origin's outcome for one sent write, settled and its bookkeeping done."""
        settled = settle(replaying, response, error, now=self.now(), max_attempts=self.config.max_attempts,
                         backoff_base=self.config.backoff_base_seconds, backoff_cap=self.config.backoff_cap_seconds,
                         random=self.random)
        if settled.record.state is WriteState.SYNCED:
            await self._synced(settled.record)
        elif settled.record.state is WriteState.FAILED:
            await self._dead_letter(settled.record, settled.permanent)
        else:
            await self._retry(settled.record, settled.retry_in, response)
        return settled.record

    # -- coalescing and bulk: the one step that sends a batch (sync.coalesce, sync.bulk) --------

    def _route_of(self, record: WriteRecord) -> Route | None:
        return match_route(self.routes, urlsplit(record.path).path or "/")

    def _coalesces(self, record: WriteRecord) -> bool:
        route = self._route_of(record)
        return route is not None and route.coalesce

    def _waiting_for(self, resource: str) -> list[WriteRecord]:
        return [record for record in self.ready if record.resource == resource]

    async def _replay_ready(self) -> None:
        """Send the writes waiting in ``ready`` and settle them; each ends settled or kept.

        ``sync.coalesce.plan`` makes units per resource (one write sent for several); round
        after round, the next unit of every resource goes: a unit whose newest write is bound
        to a write outside the batch is settled by that write's stored fate, never sent
        (``coalesce.resolve``); the others' older writes are bound to their newest
        (``writes.bind``), then the newest writes are sent, the bulk route's together
        (``sync.bulk``, at most ``bulk_max`` per POST) and the others one by one, each outcome
        settled as a single replay's and its unit's older writes as ``coalesce.aftermath``
        says. A resource whose write is retried (or that the wall time stops) keeps the rest
        of its units queued, so the order per resource holds. Crash order: bind, send, save
        the sent write's outcome, then the older ones' (see ``sync.coalesce``).
        """
        ready, self.ready = self.ready, []
        lines = [list(units) for units in plan(ready, self._coalesces)]
        while lines := [units for units in lines if units]:
            heads = [units.pop(0) for units in lines]
            for index, unit in enumerate(heads):
                if unit.newest.state is WriteState.REPLAYING and unit.newest.coalesced_into is not None:
                    bound_to = await self._load_bound(unit.newest.coalesced_into)
                    after = resolve(unit, bound_to, self.now())
                    await self._settle_older(after, bound_to)
                    for record in after.waiting:  # its newer write is still to go: not held back
                        self._keep(record)
                    heads[index] = None
            sent = [unit for unit in heads if unit is not None and unit.newest.state is WriteState.REPLAYING]
            for unit in sent:
                for older in unit.older:
                    if older.coalesced_into != unit.newest.id:
                        await self.queue.save(bind(older, unit.newest))
            settled = dict(zip((unit.newest.id for unit in sent), await self._send_units(sent)))
            for units, unit in zip(lines, heads):
                if unit is None:
                    continue
                final = settled.get(unit.newest.id, unit.newest)  # not sent: settled by an earlier run
                if final is None:  # not sent: out of time
                    final = unit.newest
                    self._keep(unit.newest)
                after = aftermath(unit, final, self.now())
                await self._settle_older(after, final)
                if after.again is not None:
                    # Its newest goes next: stored unbound first, so that a crash after its send
                    # does not leave it tied to the refused write (and dead-lettered with it).
                    await self.queue.save(after.again.newest.to(WriteState.QUEUED))
                    units.insert(0, after.again)
                if final.state in (WriteState.QUEUED, WriteState.REPLAYING):
                    # Retried, or not sent: everything after it on this resource waits.
                    self.blocked_resources.add(unit.resource)
                    for record in (*after.waiting, *(r for later in units for r in later.records)):
                        self._keep(record)
                    units.clear()

    async def _load_bound(self, write_id: str) -> WriteRecord | None:
        try:
            return await self.queue.load(write_id)
        except RecordFormatError:
            return None

    async def _settle_older(self, after, newer: WriteRecord | None) -> None:
        """Save what ``after`` (``coalesce.Aftermath``) made of a unit's older writes, given the
        settled newer write they were sent with (None: gone); that write's own bookkeeping
        refreshed the entry they share with it."""
        for superseded in after.superseded:
            await self._superseded(superseded, newer)
        for failed in after.dead_lettered:
            await self._dead_letter(failed, permanent=False, reason="coalesced into a write that did not sync",
                                    entry_done=newer is not None and failed.entry_key == newer.entry_key)

    async def _send_units(self, units: list[Unit]) -> list[WriteRecord | None]:
        """Send each unit's newest write (a bulk route's together) and settle it: the settled
        records in ``units``' order, None for one not sent because the wall time ran out."""
        settled: dict[str, WriteRecord | None] = {}
        by_route: dict[Route, list[WriteRecord]] = {}
        for unit in units:
            route = self._route_of(unit.newest)
            if route is not None and route.bulk_url:
                by_route.setdefault(route, []).append(unit.newest)
                continue
            if self.now() >= self.stop_at:
                settled[unit.newest.id] = None
                continue
            await self._keep_lease()
            settled[unit.newest.id] = await self._settle(unit.newest, *await self._send(unit.newest))
        for route, records in by_route.items():
            for chunk in bulk.chunks(records, route.bulk_max):
                if self.now() >= self.stop_at:
                    settled.update(dict.fromkeys((record.id for record in chunk), None))
                    continue
                await self._keep_lease()
                for record, (response, error) in zip(chunk, await self._send_bulk(chunk, route.bulk_url)):
                    settled[record.id] = await self._settle(record, response, error)
        return [settled[unit.newest.id] for unit in units]

    async def _send_bulk(self, records: list[WriteRecord], url: str) -> list[bulk.Outcome]:
        """One POST for ``records`` (``sync.bulk``): an outcome per write, in order."""
        target = self.origin_url + url if url.startswith("/") else url
        try:
            response = await fetch_with_timeout(self.origin_fetch, bulk.bulk_request(records, target),
                                                self.origin_timeout)
        except FetchTimeout:
            return [(None, f"bulk endpoint timed out after {self.origin_timeout:g}s")] * len(records)
        except FetchError as exc:
            return [(None, f"bulk endpoint unreachable: {exc}")] * len(records)
        self.log("replay.bulk", region=self.region, status=response.status, writes=len(records))
        return bulk.outcomes(records, response)

    async def _superseded(self, superseded: WriteRecord, by: WriteRecord) -> None:
        """Bookkeeping of a write made unnecessary by a newer synced one: its record, its id;
        its entry only if it is not the newer write's (whose refresh covered that one)."""
        await self.queue.save(superseded)
        self.to_remove.append(superseded.id)
        self.counts["synced"] += 1
        self.log("replay.superseded", region=self.region, write_id=superseded.id, superseded_by=by.id)
        if superseded.entry_key != by.entry_key:
            await self._refresh_entries(superseded)

    async def _send(self, record: WriteRecord) -> tuple[Response | None, str]:
        """The origin's answer (or None) and a one-line description of a failure."""
        try:
            response = await fetch_with_timeout(self.origin_fetch, origin_request(record, self.origin_url),
                                                self.origin_timeout)
        except FetchTimeout:
            return None, f"origin timed out after {self.origin_timeout:g}s"
        except FetchError as exc:
            return None, f"origin unreachable: {exc}"
        return response, f"origin answered {response.status}"

    async def _synced(self, synced: WriteRecord) -> None:
        await self.queue.save(synced)
        self.to_remove.append(synced.id)
        self.counts["synced"] += 1
        self.log("replay.synced", region=self.region, write_id=synced.id, status=synced.origin_status,
                 attempt=synced.attempts)
        await self._refresh_entries(synced)

    async def _retry(self, queued: WriteRecord, delay: float, response: Response | None) -> None:
        await self.queue.save(queued)
        self.blocked_resources.add(queued.resource)
        self.counts["retried"] += 1
        self._keep(queued)
        self.log("replay.retry", region=self.region, write_id=queued.id, attempt=queued.attempts,
                 status=response.status if response is not None else None, reason=queued.last_error,
                 retry_in_seconds=round(delay, 3))

    async def _dead_letter(self, failed: WriteRecord, permanent: bool, *, reason: str | None = None,
                           entry_done: bool = False) -> None:
        await self.queue.dead_letter(failed, self.now())
        self.counts["dead_lettered"] += 1
        # The reason may quote the origin's body; the log gets the status only.
        self.log("replay.dead_lettered", level="error", region=self.region, write_id=failed.id, attempt=failed.attempts,
                 status=failed.origin_status, reason=reason or ("permanent" if permanent else "attempts used up"))
        if not entry_done:  # a write dead-lettered with the one sent in its place shares its entry refresh
            await self._refresh_entries(failed)

    async def _keep_dead_letters_alive(self) -> None:
        """Give the dead letters near expiry a fresh TTL (``dead_letters.keep_alive``, whose
        docstring has the cost: 1 + k + 2 calls at most, k <= KEEPALIVE_BATCH and what the
        budget allows beyond RUN_RESERVE; nothing due costs the fetch alone).

        Time: it may start as long as the replay's last origin call could still be running
        (``stop_at`` + the origin timeout); it is Momento calls only, which the lease margin
        covers as it covers a write's bookkeeping. Its failures are logged and leave the
        replay's status alone: the next sweep tries again, with hours to spare.
        """
        afford = self.budget.remaining - RUN_RESERVE - (KEEPALIVE_RESERVE - 1)  # all but the UpdateTtls
        if afford < 1 or self.now() >= self.stop_at + self.origin_timeout:
            return
        done = await keep_alive(self.queue, region=self.region, now=self.now(), limit=min(KEEPALIVE_BATCH, afford),
                                log=self.log)
        self.counts["lost"] += done.lost
        self.counts["kept_alive"] += done.kept

    async def _refresh_entries(self, record: WriteRecord) -> None:
        """Make readers see the origin's truth again. Best effort: a failure is logged and the
        write stays settled (the entries expire on their own TTL at worst).

        Own region: the dirty entry goes back to the route's TTL (synced) or away (failed) —
        unless it now holds a *later* write's representation, which is the right one to show
        until that write settles. Other regions, after a sync only: their copy is older than
        the origin now (a refused write changed nothing there).
        """
        own = self.regions.client(self.region)

        async def own_entry() -> None:
            raw = await own.get(record.entry_key)
            if raw is None:
                return
            try:
                entry = CachedEntry.decode(raw)
            except EntryFormatError:
                entry = None
            if entry is not None and entry.dirty_write is not None and entry.dirty_write > record.id:
                return  # a later write's representation (ids sort by time, writes.new_write_id)
            # Compare-and-set against the bytes just read: should the edge write a newer dirty
            # entry in between, it is left alone (a plain Set/Delete would lose that user's
            # read-your-write, or shorten its life below its queued write's).
            if record.state is WriteState.SYNCED and entry is not None:
                # No longer dirty: the route's TTL again, and Cache-Status stops saying so.
                clean = replace(entry, dirty_write=None, ttl=record.entry_ttl, stored_at=self.now())
                await own.set_if_equal(record.entry_key, clean.encode(), raw, record.entry_ttl)
            else:
                # Refused (or unreadable): readers must see the origin's truth. Momento has no
                # conditional delete; a 1 s TTL under the same condition is the same thing.
                await own.set_if_equal(record.entry_key, raw, raw, 1)

        jobs = [self._best_effort(f"entry in {self.region}", own_entry(), write_id=record.id)]
        if record.state is WriteState.SYNCED:
            jobs.append(self._invalidate_other_regions(record))
        await asyncio.gather(*jobs)
        if self.on_settled is not None:  # the one live hook (sync.live_events), after the bookkeeping
            await self.on_settled(record, self.budget.remaining - RUN_RESERVE - self.keepalive_reserve)

    async def _invalidate_other_regions(self, record: WriteRecord) -> None:
        """After a sync, every other region's copy of the entry is older than the origin: one
        Delete per other region, concurrently, each best effort. (The one place that decides
        how other regions learn of a synced write; a refused write changed nothing there.)"""
        await asyncio.gather(*(
            self._best_effort(f"entry in {other}", self.regions.client(other).delete(record.entry_key), write_id=record.id)
            for other in self.regions.names
            if other != self.region
        ))

    async def _flush_removals(self) -> None:
        """One SortedSetRemove for every settled write so far. A crash before it only means
        the next run sees SYNCED records (removed without a replay) or replays a write the
        origin answers from its idempotency store."""
        if self.to_remove:
            ids, self.to_remove = self.to_remove, []
            try:
                await self.queue.remove(ids)
            except BaseException:
                self.to_remove = ids + self.to_remove
                raise

    def _keep(self, record: WriteRecord) -> None:
        self.kept += 1
        self.pending_since[record.id] = record.received_at

    def _warn_stale(self) -> None:
        ttl = self.queue.ttl_seconds
        cutoff = self.now() - at_risk_after(ttl)
        stale = sorted(write_id for write_id, received in self.pending_since.items() if received <= cutoff)
        if stale:
            self.log("replay.writes_at_risk", level="error", region=self.region, write_ids=stale,
                     reason=f"queued for more than {at_risk_after(ttl):g} s; QUEUE_TTL_SECONDS is {ttl} s")

    async def _best_effort(self, what: str, awaitable, **fields):
        try:
            return await awaitable
        except (MomentoError, FetchError, BudgetExhausted) as exc:
            self.log("replay.best_effort_failed", level="warning", region=self.region, step=what, reason=str(exc), **fields)
            return None

    def _summary(self, status: str, message: str | None, started_used: int, remaining: int | None) -> DrainSummary:
        return DrainSummary(region=self.region, status=status, remaining=remaining,
                            subrequests=self.budget.used - started_used, message=message, **self.counts)

