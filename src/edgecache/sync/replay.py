"""Replay one region's queued writes to the origin: in order per resource, exactly once as
the origin sees it, with retries, backoff and a dead-letter queue.

One run (``drain_region``) is: take the region's lease, then *windows* until the queue is
drained or the budget or the wall time is used up, then release the lease. A window is a
handful of Momento calls around many origin calls:

    1  SortedSetFetch     the next (up to BATCH_SIZE) queued ids, oldest first
    2  GetBatch           their records, in one call
    3  order              the order across regions (``sync.ordering``, ``_order``): with more
                          than one region, a sleep until the window's writes are closed
                          (ORDER_WAIT_MS); then, concurrently, one GetBatch of the resources'
                          ``applied:`` markers (in ``marker_region``) and one SortedSetFetch of
                          each other region's queue; when a write waits for an older one queued
                          in another region, a wake mark (Set) in that region and its queue
                          read again, if what the window leaves pays for those two calls (not
                          planned; else logged ``replay.wake_skipped`` and the write waits)
                          A write older than its marker ends SYNCED ``superseded_by`` it (never
                          sent); a write that waits stays queued (and its resource's later ones)
    4  origin             each sendable write (``_send_batch``: resources concurrently,
                          up to ORIGIN_CONCURRENCY requests at a time, each resource's writes
                          in order; a ``coalesce`` route sends only the newest of a resource's
                          waiting PUT/DELETE writes, a ``bulk_url`` route many resources' writes
                          per request, see "Coalescing and bulk" below)
    5  SetBatch           every record whose state changed (synced, failed, retried, coalesced)
    6  UpdateTtl          per unreadable record (rare; ``set_aside``'s first step)
    7  SortedSetPut       the dead letters (new and resumed) into the DLQ, in one call
    8  entries            own region: one GetBatch of the settled writes' entries, then one
                          SetIf equal per entry to clean; each other region, after a sync: one
                          GetBatch of the synced keys, then one SetIf equal per copy there that
                          is clean (not ``dirty_write``, not ``entries.INVALIDATED`` already) to
                          make it ``INVALIDATED``, as many as what the window leaves pays for
                          (not planned; the rest logged ``replay.invalidation_skipped``);
                          deduplicated by key; best effort
    9  SetBatch           the synced resources' newest write ids as ``applied:`` markers: one
                          call, in ``marker_region`` alone (not best effort)
   10  SortedSetRemove    every settled id off the queue, in one call

At the end of ``drain_region``, with more than one region and when it settled a write: one
GetBatch of the wake marks other regions' syncs left here, then per mark its Delete and the
wake (``_wake_waiting``, from ``WAKE_RESERVE``).

So a window of w writes in n regions is planned at ``window_cost(w, n)`` = 2w + 2n + 7 at
most (the 2 per write: its origin call and its own entry's SetIf; of the 2n + 7,
``order_cost(n)`` = n + 1 is the order across regions: the markers' GetBatch and SetBatch in
``marker_region`` and one queue read per other region; a waiting write's wake mark and second
queue read are not planned, they are paid from what the window leaves or skipped,
``replay.wake_skipped``), and a run adds 4 (lease, queue TTL, release, length) and, with more
than one region, ``WAKE_RESERVE`` (3). The SetIfs that invalidate other regions' clean copies
(step 8) are not planned, since most synced keys have no copy elsewhere: they are paid from
what the window's plan and the budget leave beyond the run's reserves
(``_invalidate_other_regions``). With the default budget of 45 and three regions one webhook
run replays (45 - 7 - 13) // 2 = 12 writes (``run_cost(3, 12)`` = 44 budgeted; measured
against the stand-in with three regions: 40 subrequests with no copies in the other
regions, 12 origin calls and 28 Momento calls, 2.3 per write; 43 with a clean copy of each
entry in both, 3 of the 24 copies invalidated and 21 skipped); a window of BATCH_SIZE is
planned at 1 + (2n + 7)/w = 1.65 Momento calls per write amortised, plus a SetIf per clean
copy elsewhere that the budget reaches. (Before the order across regions: 16 writes per run
and 1 + (n + 6)/w = 1.45 per write; before the windows were batched: 5 + (n - 1) per write.)
Once a window's records are read, ``_fitting`` budgets it as exactly that: one SetIf per distinct entry (own region; an UpdateTtl per unreadable record), one
origin request per write except on a bulk route (``_origin_plan``: a round's writes share
requests of ``bulk_max``; the rounds hold to that plan), and for a window that coalesces two
more SetBatch calls (the bindings before the first send, the coalesced records after their
newer write's) plus one GetBatch when bound writes' newer writes lie outside it. So 20
writes to 5 items on a coalescing route cost 5 origin calls and at most 5 SetIfs here (and,
from what is left, one per clean copy elsewhere), and 20 in bulk (``bulk_max`` 25) one POST.
Every network call goes through the injected ``fetch``; time and
randomness are parameters, so the whole thing runs on CPython against the Momento stand-in
and a fake origin. This module only sequences that I/O: what an origin outcome leads to
(synced, retry after backoff, dead letter) and the origin request itself are pure decisions
in ``writes`` (``settle``, ``origin_request``), and the dead-letter queue's keep-alive and
admin operations live in ``dead_letters``.

Why it is safe (the properties the tests check, ``tests/sync``: a crash at every subrequest
of a batched run, and the property test):

* **Never lost.** A write leaves the queue (step 10) only after its record says SYNCED or it
  sits in the DLQ (steps 5 and 7 come first). A crash before step 5 leaves every record of
  the window QUEUED (REPLAYING is never written) and the next run replays them; SetBatch is
  not atomic, so a crash inside it leaves some saved and some not, each case one of the two
  just described. A crash after step 5 leaves SYNCED or FAILED records still queued, and the
  next run finishes their bookkeeping (steps 7-10) without asking the origin again. A record
  this version cannot read is moved to the DLQ rather than left to stop the region's queue.
  A dead letter is never attempted again, yet Momento drops every item within 24 h: so each
  cron run, after its replay work, keeps alive the dead letters that entered the last sixth
  of their TTL (``dead_letters.keep_alive``).
* **Exactly once at the origin.** Every replay carries ``Idempotency-Key: <write id>`` and
  the origin stores its answer per key: a crash between the origin's 2xx and step 5 only
  makes the next run receive that stored answer again.
* **Ordered per resource.** Writes are walked in queue order; a resource's writes go one
  after the other (the next only once the previous one answered), different resources at
  once. Once a write to a resource cannot go now (backoff, or it just failed transiently)
  every later write to that resource waits for a later run. Of two concurrent runs (webhook
  and cron) the lease lets exactly one through. The lease key lives one origin round long
  (``lease_ttl``) and is renewed (SetIf equal) before a round of origin calls that could
  outlive it — one renewal per window is budgeted, a window that would need a second stops
  sending — so a crashed run blocks its region for ``lease_ttl`` (20 s by default) at most;
  a run that finds its lease taken stops at once and leaves the new holder's lease alone.
* **Ordered across regions** (``sync.ordering``, step 3). A write goes only once closed and
  when no older write to its resource is queued in another region; a write older than the
  ``applied:`` marker of its resource is never sent; the markers are stored (step 9, one
  SetBatch in ``marker_region``) before the writes leave the queue. A region whose queue
  cannot be read makes the writes wait (``replay.order_unknown``): order over progress,
  nothing is lost.
* **No lost wake-up.** A trigger that finds the lease held leaves a "more work" mark (one
  Set) and tries the lease once more; the holder reads the mark after releasing (one Get,
  plus a Delete when set) and runs again (``drain_region``). The rounds share the first run's
  wall time: a mark found after it goes to a fresh invocation (status ``"budget"``), so one call's
  rounds never add up past ``waitUntil``'s 30 s.
* **Coalescing and bulk** (``sync.coalesce``, ``sync.bulk``; routes' ``coalesce`` and
  ``bulk_url``) keep all of the above; the window is the batch. Its sendable records are
  planned into units (``coalesce.plan``: per resource, in order; one write each, or on a
  coalescing route several unconditional PUT/DELETE writes whose newest alone is sent).
  Crash order, per window: (a) one SetBatch before the first origin call *binds* every
  older write to the newest sent in its place (``coalesced_into``; one call for all, and
  any subset of it stored is safe: a partly bound unit is planned as the same unit again);
  (b) the newest writes go, a bulk route's many per request; (c) their settlements are
  stored (SetBatch, as in step 5); (d) only in a later SetBatch the older writes SYNCED
  ``superseded_by`` it or FAILED with it (``coalesce.aftermath``), so a crash never leaves
  them settled by a newer write whose own settlement is lost (a resend might end it
  otherwise); then steps 7-10 for all. A bound write is never sent on its own: the newest
  may have been applied with its answer lost, and a later run may not see the two
  together (another window, a smaller budget); so a window that finds a bound write
  without its newer one settles it by that write's stored record (``coalesce.resolve``,
  one GetBatch for those it did not read): synced → superseded, still queued → it waits
  (and the rest of its resource in the window with it), failed or gone → dead-lettered. A
  record an interrupted run settled (step 5) ends its unit and settles the older writes
  bound to it the same way (``coalesce.aftermath``), without asking the origin again.
  Only within one window, when the newest was refused on its only attempt (so never
  applied), does the one before it go in its place: stored unbound, and the others bound
  to it, in the SetBatch before its round. A bulk request carries at most one write per
  resource (``_requests``), each with its Idempotency-Key, so a resend after a lost answer
  or a crash is as harmless as a single write's; one item's answer settles that write
  alone, a failure of the whole request is a transient failure of each write in it.
* **Within the platform's limits.** A Worker invocation has a fixed number of subrequests
  (50 on the Free plan) and ``waitUntil`` work is cut after 30 s. Every fetch is counted by
  :class:`SubrequestBudget`; a window is sized, before it starts, to what the budget can
  finish (``window_cost``, re-checked once the records' sizes are known), and a run stops
  with status ``"budget"`` so that a continuation or the next trigger goes on. The
  keep-alive gets what the replay leaves, plus a reserve of ``KEEPALIVE_RESERVE``. With more
  than one region the windows, the invalidations in other regions, the live events and the
  keep-alive all leave ``WAKE_RESERVE`` for the drain's wake marks.

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
from ..entries import INVALIDATED, INVALIDATED_TTL, CachedEntry, EntryFormatError
from ..http import Clock, Fetch, FetchError, FetchTimeout, Response, fetch_with_timeout
from ..keys import QUEUE_KEY
from ..logs import Log
from ..momento.errors import MomentoError
from ..queue import WriteQueue, record_batches
from ..regional import RegionalClients
from ..routes import Route, match_route
# backoff_seconds and retry_after_seconds are re-exported: they were defined here before.
from ..writes import (CONFLICT, WAIT, RecordFormatError, Settlement, WriteRecord, WriteState,  # noqa: F401
                      backoff_seconds, bind, conflict_with, origin_request, outdated, precondition,
                      retry_after_seconds, settle, with_if_match)
from . import bulk, ordering
from .budget import BudgetExhausted, SubrequestBudget
from .coalesce import Aftermath, Unit, aftermath, plan, resolve
from .rate_limit import Sleep
# The keep-alive's constants are re-exported: they were defined here before.
from .dead_letters import KEEPALIVE_BATCH, KEEPALIVE_RESERVE, keep_alive, keep_alive_after  # noqa: F401

__all__ = [
    "DrainSummary",
    "drain_region",
    "needs_continuation",
    "backoff_seconds",
    "write_cost",
    "run_cost",
    "window_cost",
    "RUN_RESERVE",
    "BATCH_SIZE",
    "ORIGIN_CONCURRENCY",
    "KEEPALIVE_BATCH",
    "KEEPALIVE_RESERVE",
    "keep_alive_after",
]

BATCH_SIZE = 20
"""Queued writes per window: one SortedSetFetch and one GetBatch read them all. It also
bounds a window's memory: 20 records of the default 1 MB bodies are about 28 MB (a Worker
isolate has 128 MB); with ``MAX_BODY_BYTES`` near its 3.8 MB ceiling, lower it."""

ORIGIN_CONCURRENCY = 6
"""Origin requests in flight at once: a Worker invocation keeps six connections open at a
time (more wait in the runtime's own queue), and one round of them is what the lease must
outlast."""

RUN_RESERVE = 2
"""Subrequests kept back for the end of every run: the delete of the lease and one
SortedSetLength for ``remaining``."""

_RUN_START = 2
"""The lease (SetIf absent) and the queue's TTL (UpdateTtl)."""

RECORD_GROWTH_BYTES = 2048
"""How much a record may grow when settled (``last_error`` quotes up to 200 characters of the
origin's answer, JSON-escaped): the SetBatch groups are planned with it before the origin is
asked, so the save never needs more calls than were budgeted."""

LEASE_MARGIN_SECONDS = 10.0
"""Time the lease must outlast a round of origin calls by: the Momento calls that settle
the window. A run that outlived its lease could overlap the next one and break the
per-resource order (the origin would still apply each write once, thanks to the key)."""

LEASE_SLACK_SECONDS = 5.0
"""How much longer than one round the lease lives: it is renewed (one SetIf equal) before a
round that would start with less than ``origin_timeout + LEASE_MARGIN_SECONDS`` of it left,
so a crashed run blocks its region for ``lease_ttl`` at most (25 s with the default 10 s
origin timeout), not LEASE_SECONDS."""


def lease_ttl(origin_timeout: float, lease_seconds: int) -> int:
    """The lease key's TTL: one round of origin calls and the bookkeeping plus the slack,
    never more than LEASE_SECONDS (which bounds a whole run, see ``_Run._wall_seconds``)."""
    return min(lease_seconds, max(1, math.ceil(origin_timeout + LEASE_MARGIN_SECONDS + LEASE_SLACK_SECONDS)))


CLOSE_MARGIN_SECONDS = 0.005
"""Added to a sleep until writes close (``_until_closed``): timers fire to the millisecond."""


RECORD_GRACE_SECONDS = 60.0
"""How long a queued id may be seen without its record before it counts as never recorded
(see ``_Window``): far more than the edge's two concurrent calls take."""


class _LeaseLost(Exception):
    """The lease expired and another run holds it now: this run must stop at once."""


def write_cost(region_count: int) -> int:
    """What one more write adds to a window, at most: its origin request and the SetIf that
    cleans its own entry (a resumed record: that SetIf only; an unreadable one: its UpdateTtl).
    The SetIfs that invalidate other regions' clean copies are paid from what the window
    leaves (``_invalidate_other_regions``), not planned: most synced keys have no copy there.
    Everything else in a window is paid once for all its writes (``window_cost``)."""
    return 2


def order_cost(region_count: int) -> int:
    """A window's planned calls for the order across regions (``sync.ordering``): the
    ``applied:`` markers read before the sends (GetBatch) and written after them (SetBatch),
    both in the markers' region (``marker_region``), and per other region its queue read
    (SortedSetFetch). When a write waits for another region, that region's wake mark (Set)
    and its queue read again are paid from what the window leaves (``_order``)."""
    return 2 + (region_count - 1)


def marker_region(names: tuple[str, ...]) -> str:
    """Where the ``applied:`` markers live: the first region of MOMENTO_REGIONS, for every
    region's sync (one read and one write per window, wherever the sync runs). Reordering
    MOMENTO_REGIONS starts the markers afresh: until then only the wait for older writes
    (``ordering`` rules 1-2) orders a resource's writes."""
    return names[0]


def window_cost(writes: int, region_count: int, record_batches: int = 1, lookups: int = 0) -> int:
    """Worst-case subrequests of a window of ``writes`` queued writes (module docstring):

        SortedSetFetch 1, GetBatch 1, SetBatch ``record_batches`` (1 unless records
        near 5 MB; ``_fitting`` multiplies by the rounds a resource's writes need, plus
        2 when the window coalesces), DLQ SortedSetPut 1, own entries GetBatch 1,
        other regions' entries GetBatch (n - 1), SortedSetRemove 1, one lease renewal 1,
        ``lookups`` (the GetBatch of bound writes' newer writes the window did not read:
        0 or 1), the order across regions ``order_cost``
                                          n + 5 + record_batches + lookups + order_cost(n)
        per write (``write_cost``)                                         2 x writes

    (``_fitting`` counts the per-write part exactly once the records are read: a SetIf per
    distinct entry, the origin requests of ``_origin_plan``. The SetIfs for other regions'
    copies are not in it: they are paid from what the window leaves, see ``write_cost``.)

    A run adds ``_RUN_START`` and ``RUN_RESERVE`` (and ``WAKE_RESERVE`` with more than one
    region); so one write alone costs 2 + 15 + 2 + 3 = 22 with three regions (``run_cost``),
    and the default budget of 45 replays (45 - 7 - 13) // 2 = 12 in one window.
    """
    return (2 + record_batches + 3 + (region_count - 1) + 1 + lookups + order_cost(region_count)
            + write_cost(region_count) * writes)


def run_cost(region_count: int, writes: int = 1, *, keep_dead_letters: bool = False) -> int:
    """What a run needs to replay ``writes`` in one window: its fixed costs (``_RUN_START``,
    ``RUN_RESERVE``, ``WAKE_RESERVE`` with more than one region), the window, and the
    keep-alive's reserve on runs that keep dead letters alive. With one write, the least that
    does anything useful."""
    reserve = KEEPALIVE_RESERVE if keep_dead_letters else 0
    return _RUN_START + window_cost(writes, region_count) + RUN_RESERVE + _wake_reserve(region_count) + reserve


WAKE_RESERVE = 3
"""Kept back by a drain for its end, with more than one region: the GetBatch of the wake
marks other regions' syncs left here, and for one of them its Delete and the publish that
wakes it (``drain_region``; more marks are served if the budget has more left)."""


def _wake_reserve(region_count: int) -> int:
    return WAKE_RESERVE if region_count > 1 else 0


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
    sleep: Sleep = asyncio.sleep,
    wake: Callable[[str], Awaitable[None]] | None = None,
) -> DrainSummary:
    """Replay ``region``'s queued writes until drained, out of budget or out of time.

    ``queue`` and ``regions`` must be built on ``budget.wrap(...)`` (see
    :func:`~edgecache.sync.budget.budgeted_regions`); ``fetch`` reaches the origin and is wrapped here.
    With ``keep_dead_letters`` (the cron sweep) the run then keeps due dead letters alive,
    still under the lease (see the module docstring). ``routes`` (``Config.routes``) say which
    writes coalesce or go in bulk (``_send_batch``); without them each write goes alone.
    ``sleep`` waits for a window's writes to close (``sync.ordering``); ``wake(region)``
    starts a drain of ``region`` (a topic publish in the Worker), for the regions whose sync
    left a wake mark here because it waits for a write of this queue (``_wake_waiting``).
    """
    deadline: float | None = None  # the first run's stop_at: later rounds share it

    def fresh_run() -> _Run:
        return _Run(
            deadline=deadline,
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
            sleep=sleep,
        )

    started_used = budget.used
    least = run_cost(len(regions.names))
    first = fresh_run()
    summaries = [await first.run(holder_id)]
    deadline = first.stop_at or None  # 0.0: it never took the lease
    for _ in range(MAX_ROUNDS - 1):
        last = summaries[-1]
        if deadline is not None and now() >= deadline and last.status in ("drained", "record-pending"):
            # Out of this call's time (SYNC_WALL_MS): another round would run past it, and
            # rounds must not add up beyond waitUntil's 30 s. Writes left (or a trigger's
            # mark, which stays for its next reader) go to a fresh invocation: "budget" is
            # what makes the caller continue (``needs_continuation``).
            if last.remaining:
                summaries[-1] = replace(last, status="budget", message="out of time; the rest continues")
            break
        try:
            if last.status == "busy":
                if len(summaries) > 1 and summaries[-2].status == "busy":
                    break  # marked and tried again: the holder will see the mark
                # No lost wake-up: leave word, then try once more. The holder may have read
                # "no mark" and released between our SetIf and our mark; then this second
                # SetIf wins. If it loses too, its holder took the lease after the mark was
                # set, so that holder reads the mark after releasing.
                if not budget.affords(1 + least):
                    break
                await queue.mark_more_work(config.lease_seconds)
            elif last.status in ("drained", "record-pending"):
                # After the release: did a trigger come while we held the lease?
                if not budget.affords(2 + least) or not await queue.take_more_work():
                    break
                log("replay.more_work", region=region, reason="a trigger came while this run held the lease")
            else:
                break  # "budget": the work left waits for the next trigger; "error": likewise
        except (MomentoError, FetchError, BudgetExhausted) as exc:
            log("replay.more_work_failed", level="warning", region=region, reason=str(exc))
            break
        summaries.append(await fresh_run().run(holder_id))
    merged = _merged(summaries, budget.used - started_used)
    if wake is not None and len(regions.names) > 1 and merged.synced + merged.dead_lettered + merged.lost:
        await _wake_waiting(region, queue, regions.names, wake, budget, log)
        merged = replace(merged, subrequests=budget.used - started_used)
    return merged


async def _wake_waiting(region: str, queue: WriteQueue, names: tuple[str, ...], wake, budget: SubrequestBudget,
                        log: Log) -> None:
    """After runs that took writes off this queue: wake the syncs of the regions that left a
    wake mark here (``WriteQueue.clear_wake``), since what they waited for may be gone now.
    From ``WAKE_RESERVE``: the GetBatch, then per mark its Delete and ``wake`` while the
    budget lasts. Best effort: a mark not served stays (its TTL is a lease's), and the cron
    sweep visits every region anyway."""
    others = [name for name in names if name != region]
    try:
        if not budget.affords(1):
            return
        for waiting in await queue.wakes_left(others):
            if not budget.affords(2):
                break
            await queue.clear_wake(waiting)
            await wake(waiting)
            log("replay.woke", region=region, woke=waiting, reason="it waited for a write of this region")
    except (MomentoError, FetchError, BudgetExhausted) as exc:
        log("replay.wake_failed", level="warning", region=region, reason=str(exc))


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


def _replaceable(raw: bytes) -> bool:
    """Whether another region's copy may become ``INVALIDATED``: anything but a marker
    already and an entry holding a write still queued there (``dirty_write``)."""
    if raw == INVALIDATED:
        return False
    try:
        return CachedEntry.decode(raw).dirty_write is None
    except EntryFormatError:
        return True  # a vary marker or foreign bytes: a miss for readers either way


def _chains(records: list[WriteRecord]) -> dict[str, list[WriteRecord]]:
    """Each resource's writes in queue order, resources in order of their first write."""
    chains: dict[str, list[WriteRecord]] = {}
    for record in records:
        chains.setdefault(record.resource, []).append(record)
    return chains


def _rounds(records: list[WriteRecord]) -> int:
    """SetBatch saves a window of these records may need, at most: one after each round of
    origin calls that a resource's next write waits for, and the last. The longest chain of
    writes to one resource (1 when every resource has one write) bounds it."""
    chains = _chains([r for r in records if r.state is WriteState.QUEUED])
    if not chains:
        return 1
    return max(len(chain) for chain in chains.values())


@dataclass
class _Window:
    """What one window decided, in queue order, before and after the origin calls."""

    sendable: list[WriteRecord] = field(default_factory=list)
    in_order: list[WriteRecord] = field(default_factory=list)
    """Sendable and resumed records, in queue order: what coalescing plans from."""
    settled: list[Settlement] = field(default_factory=list)
    """Settlements of the writes sent, in the order they were sent."""
    resumed: list[WriteRecord] = field(default_factory=list)
    """SYNCED or FAILED records an interrupted run left queued: bookkeeping only."""
    coalesced: list[WriteRecord] = field(default_factory=list)
    """Older writes settled by the fate of the newer one sent in their place (``coalesce``):
    SYNCED ``superseded_by`` it, or FAILED with it. Never sent."""
    waiting: list[WriteRecord] = field(default_factory=list)
    """Bound (``coalesced_into``) to a newer write still queued and not sendable in this window:
    left as stored, their resource not held back (the newer write may go)."""
    unreadable: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Ids with no record to replay (never recorded, or expired): only taken off the queue."""
    stored: dict[str, WriteRecord] = field(default_factory=dict)
    """What Momento holds for each record this window read or saved (bindings compare to it)."""
    unsaved: list[WriteRecord] = field(default_factory=list)
    """Records to store with the next SetBatch (settlements, bindings)."""
    after: list[tuple[WriteRecord, str]] = field(default_factory=list)
    """Coalesced records and the id of the write whose fate they share: each is stored only
    in a SetBatch after the one that stored that write's settlement (``_save_pending``)."""
    renewed: bool = False
    """The window's one budgeted lease renewal is used."""
    origin_left: int = 0
    """Origin requests the window's plan still allows (``_origin_plan``)."""
    planned: int = 0
    """The window's worst-case cost (``window_cost``), from ``started_used`` on."""
    started_used: int = 0
    stopped: str | None = None
    """Why the run must end after this window: "budget" or "record-pending"."""
    applied: dict[str, str | None] = field(default_factory=dict)
    """The ``applied:`` markers read here before sending (``_order``): resource → id."""
    outdated: set[str] = field(default_factory=set)
    """Ids in ``coalesced`` superseded by another region's write (``_order``): unlike a write
    coalesced into a newer one of this window, no write here publishes their live events."""

    def take_out(self, ids: set[str]) -> None:
        """These sendable records will not be sent in this window (``_order``)."""
        self.sendable = [r for r in self.sendable if r.id not in ids]
        self.in_order = [r for r in self.in_order if r.id not in ids]

    def records(self, state: WriteState) -> list[WriteRecord]:
        """Settled, coalesced and resumed records now in ``state``, in queue order of settling."""
        return [r for r in self.resumed + [s.record for s in self.settled] + self.coalesced if r.state is state]


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
    """Which writes coalesce (``coalesce``) or go in bulk (``bulk_url``); none: each goes alone."""
    sleep: Sleep = asyncio.sleep
    """How a window waits for its writes to close (``sync.ordering``; tests move a fake clock)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("synced", "retried", "dead_lettered", "lost", "blocked", "kept_alive"), 0))
    blocked_resources: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    kept: int = 0
    """Ids seen in this run that stay in the queue (blocked or retried): the next window skips them."""
    pending_since: dict[str, float] = field(default_factory=dict)
    """Write id → received_at of writes this run leaves queued, for the stale-write warning."""
    stop_at: float = 0.0
    holder_id: str = ""
    lease_until: float = 0.0
    """When the lease key expires unless renewed (``_keep_lease``)."""
    lease_lost: bool = False
    deadline: float | None = None
    """When set (a later round of one ``drain_region`` call), the run stops by then at the
    latest: the call's rounds share the first run's time."""

    async def run(self, holder_id: str) -> DrainSummary:
        started_used = self.budget.used
        status, message = "drained", None
        if not self.budget.affords(run_cost(len(self.regions.names)) + self.keepalive_reserve):
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
        if self.deadline is not None:
            self.stop_at = min(self.stop_at, self.deadline)
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
        """SYNC_WALL_MS, but never so long that the last round could outlive the lease."""
        limit = self.config.lease_seconds - self.origin_timeout - LEASE_MARGIN_SECONDS
        if limit < self.config.wall_seconds:
            self.log("replay.wall_clamped", level="warning", region=self.region, wall_seconds=max(0.0, limit),
                     reason="LEASE_SECONDS is too short for SYNC_WALL_MS plus ORIGIN_TIMEOUT_MS")
        return max(0.0, min(self.config.wall_seconds, limit))

    def _allowance(self) -> int:
        """Subrequests the next window may spend: all but the run's end, the wake reserve (more
        than one region) and the keep-alive's reserve."""
        return self.budget.remaining - RUN_RESERVE - _wake_reserve(len(self.regions.names)) - self.keepalive_reserve

    def _affordable_writes(self) -> int:
        """How many ids the next window reads: as many as the budget could replay, at
        ``write_cost`` each; with coalescing or bulk routes a write may cost one call or
        less, so up to one per spare call (``_fitting`` keeps the head it can finish)."""
        spare = self._allowance() - window_cost(0, len(self.regions.names))
        if any(route.coalesce or route.bulk_url for route in self.routes):
            return max(0, min(BATCH_SIZE, spare))
        return max(0, min(BATCH_SIZE, spare // write_cost(len(self.regions.names))))

    def _other_regions(self) -> list[str]:
        return [name for name in self.regions.names if name != self.region]

    def _lease_ttl(self) -> int:
        return lease_ttl(self.origin_timeout, self.config.lease_seconds)

    def _needs_renewal(self) -> bool:
        return self.lease_until - self.now() < self.origin_timeout + LEASE_MARGIN_SECONDS

    async def _keep_lease(self) -> None:
        """Renew the lease (one SetIf equal); raises _LeaseLost if it is someone else's now."""
        ttl = self._lease_ttl()
        if not await self.queue.renew_lease(self.holder_id, ttl):
            self.lease_lost = True
            raise _LeaseLost("the sync lease expired and another run took it; stopped to keep the order")
        self.lease_until = self.now() + ttl

    # -- the order across regions (``sync.ordering``) ---------------------------------------

    async def _order(self, window: _Window) -> None:
        """Take out of ``window.sendable`` what may not go now (``ordering.decide``): writes
        older than what the origin already has (SYNCED ``superseded_by``, saved with the
        window's settlements) and writes that wait for older ones queued elsewhere (kept
        queued, their resource blocked for the rest of the run). Calls: the markers' GetBatch
        and one SortedSetFetch per other region, concurrently (``order_cost``); per region
        waited for, when the window can spare them, a wake mark and the same fetch again.
        First, with other regions, it sleeps until the window's writes are closed
        (``ordering.closes_at``). A marker that cannot be read ends the run ("error"): without
        it no write can be told apart from an outdated one."""
        others = self._other_regions()
        if others:
            await self._until_closed(window)
        records = window.sendable
        if not records:
            return
        resources = sorted({record.resource for record in records})
        top_ms = max(ordering.receive_ms(record) for record in records)
        markers = self.regions.queue(marker_region(self.regions.names))
        window.applied, *scanned = await asyncio.gather(markers.applied(resources),
                                                        *(self._scan(other, top_ms) for other in others))
        elsewhere = dict(zip(others, scanned))
        verdicts = ordering.decide(records, window.applied, elsewhere)
        waited_for = sorted({v.region for v in verdicts.values() if v.action == "wait" and v.region in elsewhere
                             and elsewhere[v.region] is not None})
        # The plan counted an origin request for every write not on a bulk route (``_origin_plan``);
        # a write that waits or is superseded makes none: that is the wake mark's spare.
        unsent = sum(1 for r in records if verdicts[r.id].action != "send"
                     and not ((route := self._route_of(r)) is not None and route.bulk_url))
        outstanding = window.planned - (self.budget.used - window.started_used) - unsent
        if waited_for and self._allowance() - outstanding < 2 * len(waited_for):
            # Not planned (rarely needed): without the spare calls, the writes wait for the
            # next trigger instead (the other region's next webhook, or the cron sweep).
            self.log("replay.wake_skipped", level="warning", region=self.region, waits_in=waited_for,
                     reason="the run's budget has no subrequests left for a wake mark; the next trigger goes on")
        elif waited_for:
            # Ask those regions' syncs to wake ours after they run, then look again: should
            # the older write have gone in between, it is gone from this second read, and
            # no wake-up is lost (``WriteQueue.clear_wake``).
            window.planned += 2 * len(waited_for)
            await asyncio.gather(*(self._best_effort(f"wake mark in {other}",
                                                     self.regions.queue(other).leave_wake(self.region, self.config.lease_seconds))
                                   for other in waited_for))
            again = await asyncio.gather(*(self._scan(other, top_ms) for other in waited_for))
            elsewhere.update(zip(waited_for, again))
            verdicts = ordering.decide(records, window.applied, elsewhere)
        held = set()
        for record in records:
            verdict = verdicts[record.id]
            if verdict.action == "superseded":
                done = outdated(record, verdict.by, self.now())
                window.coalesced.append(done)
                window.outdated.add(done.id)
                window.unsaved.append(done)
                held.add(record.id)
            elif verdict.action == "wait":
                self._hold(record, verdict.reason, waits_for=verdict.by, waits_in=verdict.region)
                held.add(record.id)
        window.take_out(held)

    async def _until_closed(self, window: _Window) -> None:
        """Sleep until every sendable write of the window is closed, if that is within the
        run's time; writes that close later wait for the next run (its trigger: the
        continuation of this one, "budget")."""
        wait = self.config.order_wait_seconds
        closes = max(ordering.closes_at(record, wait) for record in window.sendable)
        for _ in range(3):
            if not self.now() < closes <= self.stop_at:
                break
            # A timer may fire a little early (setTimeout rounds to whole milliseconds, the
            # clock it is read against is the same): look again, with a few ms to spare.
            await self.sleep(closes - self.now() + CLOSE_MARGIN_SECONDS)
        late = [r for r in window.sendable if ordering.closes_at(r, wait) > self.now()]
        # A resource's writes close in queue order (their stamps grow), so what is late is a
        # tail of each resource's writes: the closed ones before it may go.
        for record in late:
            self._hold(record, "not closed before the run's time is up (ORDER_WAIT_MS after its stamp)")
        if late:
            window.stopped = window.stopped or "budget"
            window.take_out({r.id for r in late})

    async def _scan(self, other: str, top_ms: int) -> ordering.Queued | None:
        """What ``other``'s queue holds up to ``top_ms`` (None when it cannot be read)."""
        try:
            ids = await self.regions.queue(other).queued_up_to(top_ms, ordering.SCAN_COUNT)
        except (MomentoError, FetchError) as exc:
            self.log("replay.order_unknown", level="warning", region=self.region, other=other, reason=str(exc))
            return None
        return ordering.Queued(other, tuple(ids), complete=len(ids) < ordering.SCAN_COUNT)

    async def _record_applied(self, synced: list[WriteRecord], window: _Window) -> None:
        """Store each synced resource's newest write id as its ``applied:`` marker (one SetBatch
        in ``marker_region``), before the writes leave the queue: until
        then other regions' syncs see them queued and wait, so no older write of another
        region overtakes them in between. Not best effort: a failure ends the run with the
        writes still queued, and the next run stores the markers again (a resumed record)."""
        newest: dict[str, str] = {}
        for record in synced:
            # A superseded write (outdated by the marker, or coalesced into a newer write) is
            # not what the origin has: the write that superseded it is, also when the record
            # was resumed (``window.applied`` then does not hold its resource's marker).
            candidates = [record.superseded_by or record.id, newest.get(record.resource) or "",
                          window.applied.get(record.resource) or ""]
            newest[record.resource] = max(candidates)
        newest = {resource: write_id for resource, write_id in newest.items() if write_id}
        if newest:
            await self.regions.queue(marker_region(self.regions.names)).record_applied(newest)

    async def _drain(self) -> str:
        while True:
            size = self._affordable_writes()
            if size < 1 or self.now() >= self.stop_at:
                return "budget"
            allowance = self._allowance()
            wanted = self.kept + size
            listed = await self.queue.oldest(wanted)
            fresh = [(write_id, score) for write_id, score in listed if write_id not in self.seen][:size]
            if not fresh:
                return "drained"
            stopped = await self._window(fresh, allowance)
            if stopped is not None:
                return stopped
            if len(listed) < wanted:
                return "drained"

    async def _window(self, fresh: list[tuple[str, float]], allowance: int) -> str | None:
        """One window (module docstring, steps 2-10) over ``fresh``: (id, score) in queue order.
        Returns why the run must stop now, or None to go on."""
        started_used = self.budget.used - 1  # the SortedSetFetch
        loaded = await self.queue.load_many([write_id for write_id, _ in fresh])
        items, planned, origin = self._fitting(list(zip(fresh, loaded)), allowance)
        window = _Window(stopped="budget" if len(items) < len(fresh) else None, planned=planned,
                         started_used=started_used, origin_left=origin,
                         stored={r.id: r for r in loaded if isinstance(r, WriteRecord)})
        for (write_id, score), loaded_as in items:
            if not self._classify(window, write_id, score, loaded_as):
                window.stopped = "record-pending"
                break
            self.seen.add(write_id)

        if window.sendable:
            await self._order(window)
        await self._send_batch(window.sendable, window)
        done = {s.record.id for s in window.settled} | {r.id for r in window.coalesced}
        for record in window.waiting:
            self._keep(record)
            self.counts["blocked"] += 1
            self.log("replay.blocked", region=self.region, write_id=record.id, attempt=record.attempts,
                     reason=f"coalesced into {record.coalesced_into}, which is still queued")
            done.add(record.id)
        for record in window.sendable:
            if record.id not in done:  # behind a failed write to its resource, or out of time
                self._keep(record)
                if record.resource in self.blocked_resources:
                    self.counts["blocked"] += 1
                    self.log("replay.blocked", region=self.region, write_id=record.id, attempt=record.attempts,
                             reason="an earlier write to the same resource is waiting")
                else:
                    window.stopped = window.stopped or "budget"

        await self._save_pending(window, final=True)
        for write_id in window.unreadable:
            await self.queue.keep_unreadable_alive(write_id)
        failed = window.records(WriteState.FAILED)
        # A dead letter's score is when it failed (``finished_at``); set aside ones: now.
        await self.queue.add_dead_letters([(r.id, r.finished_at or self.now()) for r in failed]
                                          + [(write_id, self.now()) for write_id in window.unreadable])
        synced = window.records(WriteState.SYNCED)
        await self._refresh_entries(synced, failed)
        await self._record_applied(synced, window)
        await self.queue.remove([r.id for r in synced + failed] + window.unreadable + window.dropped)
        self._report(window)
        if self.on_settled is not None:  # the one live hook (sync.live_events), after the bookkeeping
            # A write coalesced into a newer one of this window: that one has the events.
            coalesced = {record.id for record in window.coalesced} - window.outdated
            for record in (r for r in synced + failed if r.id not in coalesced):
                await self.on_settled(record, self._allowance())
        return window.stopped

    def _fitting(self, items: list, allowance: int) -> tuple[list, int]:
        """The longest head of the window whose worst case the allowance covers, now that the
        records' sizes (hence the SetBatch groups) are known, and its cost. The rest waits,
        untouched."""
        region_count = len(self.regions.names)
        known = {loaded.id for _, loaded in items if isinstance(loaded, WriteRecord)}
        while items:
            records = [loaded for _, loaded in items if isinstance(loaded, WriteRecord)]
            grown = [replace(r, last_error=(r.last_error or "") + "x" * RECORD_GROWTH_BYTES) for r in records]
            queued = [r for r in records if r.state is WriteState.QUEUED]
            # Coalescing adds two SetBatch rounds: the bindings before the first origin call,
            # and the coalesced writes' save after their newer write's (``_save_pending``).
            coalescing = (any(r.coalesced_into for r in queued)
                          or any(len(chain) > 1 for chain in _chains([r for r in queued if self._coalesces(r)]).values()))
            saves = max(1, len(record_batches(grown))) * (_rounds(records) + (2 if coalescing else 0))
            lookups = 1 if any((r.coalesced_into and r.coalesced_into not in known)
                               or (r.based_on and r.based_on not in known) for r in queued) else 0
            origin = self._origin_plan(queued)
            # A SetIf per distinct entry here, an UpdateTtl per unreadable record; the SetIfs for
            # other regions' copies are paid from what the window leaves (not planned).
            cleanups = len({r.entry_key for r in records}) + sum(isinstance(x, RecordFormatError) for _, x in items)
            cost = window_cost(0, region_count, saves, lookups) + origin + cleanups
            if cost <= allowance:
                return items, cost, origin
            items = items[:-1]
        return items, 0, 0

    def _origin_plan(self, queued: list[WriteRecord]) -> int:
        """The origin requests a window of these QUEUED records is budgeted: one per write,
        except on a bulk route, whose writes of round k (a resource's k-th write) share
        ceil(m_k / bulk_max) requests. For bulk that is what the rounds take unless request
        sizes or ORIGIN_CONCURRENCY split them further; ``_requests`` then holds to it and the
        window leaves the rest queued (the next window or run sends them)."""
        plan_calls = 0
        per_route: dict[Route, list[WriteRecord]] = {}
        for record in queued:
            route = self._route_of(record)
            if route is not None and route.bulk_url:
                per_route.setdefault(route, []).append(record)
            else:
                plan_calls += 1
        for route, records in per_route.items():
            chains = _chains(records)
            depth = max(len(chain) for chain in chains.values())
            rounds = [sum(1 for chain in chains.values() if len(chain) > k) for k in range(depth)]
            plan_calls += min(len(records), sum(math.ceil(m / route.bulk_max) for m in rounds))
        return plan_calls

    def _classify(self, window: _Window, write_id: str, score: float, loaded) -> bool:
        """Sort one queued id into the window's lists; False for a record not yet stored (the
        run must stop before it)."""
        if isinstance(loaded, RecordFormatError):
            # Not readable by this version (edge and sync deploy separately): it cannot be
            # replayed, and leaving it first in line would stop the region for good.
            window.unreadable.append(write_id)
            self.log("replay.unreadable", level="error", region=self.region, write_id=write_id,
                     reason=f"{loaded}; moved to the dead-letter queue")
            return True
        if loaded is None:
            age = self.now() - score / 1000
            if age < RECORD_GRACE_SECONDS:
                # The edge stores the record and queues the id concurrently (one round trip
                # for the user), so a run can see the id a moment before its record. We do not
                # know its resource, so nothing after it may go either: end the run; the
                # webhook of that very write (or the next sweep) comes right back.
                self.kept += 1
                self.pending_since[write_id] = score / 1000
                self.log("replay.record_pending", region=self.region, write_id=write_id, age_seconds=round(age, 3))
                return False
            window.dropped.append(write_id)
            if age < self.queue.ttl_seconds:
                # Too young to have expired, so it was never stored: the edge could not record
                # this write, sent it to the origin itself (same Idempotency-Key) and could not
                # take the id back out. Nothing to replay; drop the id.
                self.log("replay.orphan_id", level="warning", region=self.region, write_id=write_id,
                         reason="no record: the edge passed this write through synchronously")
            else:
                # Expired in Momento (24 h without a touch): nothing can bring it back. Say so
                # loudly, with the id the client was given, and stop carrying the dead id.
                self.counts["lost"] += 1
                self.log("replay.LOST", level="error", region=self.region, write_id=write_id,
                         queued_at=score / 1000, reason="write record expired before it reached the origin")
            return True
        record: WriteRecord = loaded
        if record.state in (WriteState.SYNCED, WriteState.FAILED):
            # An earlier run stopped after saving it, before the DLQ, the caches or the removal:
            # finish that (all idempotent). The origin is not asked again.
            window.resumed.append(record)
            window.in_order.append(record)
            self.log("replay.resumed", region=self.region, write_id=write_id, status=record.origin_status,
                     reason=("synced" if record.state is WriteState.SYNCED else "dead-lettered") + " by an interrupted run")
            return True
        blocked_by = None
        if record.resource in self.blocked_resources:
            blocked_by = "an earlier write to the same resource is waiting"
        elif record.next_attempt_at > self.now():
            blocked_by = f"backoff until {record.next_attempt_at:.0f}"
        if blocked_by:
            self._hold(record, blocked_by)
            return True
        window.sendable.append(record)
        window.in_order.append(record)
        return True

    async def _send_batch(self, records: list[WriteRecord], window: _Window) -> list[Settlement]:
        """The origin step: send ``records`` (QUEUED, in queue order) and append the
        settlement of each one sent to ``window.settled``, in the order sent (also returned).
        A record neither there nor in ``window.coalesced`` or ``window.waiting`` was not sent:
        it waits behind a write to its resource that just failed transiently (its resource is
        then in ``blocked_resources``), or the run ran out of time.

        The records are planned into units (``coalesce.plan``): one write each, except on a
        ``coalesce`` route, where several PUT/DELETE writes to one resource are one unit whose
        newest alone is sent. Resources go concurrently, up to ORIGIN_CONCURRENCY requests
        per round (a ``bulk_url`` route's units share requests, ``sync.bulk``, up to
        ``bulk_max`` each); each resource's units one per round, in order, so the next goes
        only after the previous one answered and its settlement is stored (one SetBatch before
        such a round, which also stores the bindings, see ``_bindings``: ``_rounds`` counts
        them for the budget). A refused write (FAILED) does not hold back the next one; a
        retried one does, and so do the older writes of its unit (``coalesce.aftermath``).
        """
        lines = await self._plan(records, window)
        settled = window.settled
        unsaved: set[str] = set()
        first = True
        while lines:
            requests = self._requests(lines, min(ORIGIN_CONCURRENCY, window.origin_left))
            heads = {unit.resource for _, units in requests for unit in units}
            if not requests or not await self._before_round(window):
                break  # out of the window's planned origin calls (the rest waits), or of time
            window.origin_left -= len(requests)
            bindings = self._bindings(lines, window)
            if (first and bindings) or unsaved & heads or any(b.resource in heads for b in bindings):
                # Before the first round: every older write is bound to the newest sent in its
                # place. Before a resource's next write: the previous one's settlement is
                # stored, so a crash never resends an earlier write after a later one.
                window.unsaved += bindings
                await self._save_pending(window)
                unsaved.clear()
            first = False
            outcomes = await asyncio.gather(*(self._post(route, units, window) for route, units in requests))
            for (_, units), answered in zip(requests, outcomes):
                for unit, outcome in zip(units, answered):
                    resource = unit.resource
                    lines[resource].pop(0)
                    settled.append(outcome)
                    window.unsaved.append(outcome.record)
                    unsaved.add(resource)
                    self._apply(window, aftermath(unit, outcome.record, self.now()), outcome.record.id, lines)
                    if outcome.record.state is WriteState.QUEUED:
                        self.blocked_resources.add(resource)
                        del lines[resource]
                    elif not lines[resource]:
                        del lines[resource]
        # Units left unsent (time, or the planned origin calls) are stored bound as planned,
        # with the window's last SetBatch: after a refusal, the write sent in its place next
        # time is then the one before it, not a dead letter (``coalesce.resolve``).
        window.unsaved += self._bindings(lines, window)
        return settled

    async def _plan(self, records: list[WriteRecord], window: _Window) -> dict[str, list[Unit]]:
        """``records``' units per resource (``coalesce.plan``), resources in order of their
        first write, with the units whose fate is known without a send taken out: a unit
        whose newest write an interrupted run settled (resumed, SYNCED or FAILED) settles its
        older writes by that (``coalesce.aftermath``); a unit whose newest write is bound to a
        write outside the plan is settled by that write's stored record (``coalesce.resolve``;
        one GetBatch for all such writes not read by this window, budgeted by ``_fitting``).
        The same GetBatch loads the records of the writes that sendable ones are ``based_on``
        (``conflicts: "etag"``), for ``_post``'s ``writes.precondition``."""
        sendable = {record.id for record in records}
        planned = [r.to(WriteState.REPLAYING) if r.id in sendable else r
                   for r in window.in_order if r.id in sendable or self._coalesces(r)]
        lines = {units[0].resource: units for units in plan(planned, self._coalesces)}
        bound = {u.newest.coalesced_into for units in lines.values() for u in units
                 if u.newest.state is WriteState.REPLAYING and u.newest.coalesced_into}
        bases = {r.based_on for r in planned if r.state is WriteState.REPLAYING and r.based_on}
        missing = sorted((bound | bases) - set(window.stored))
        if missing:
            for write_id, loaded in zip(missing, await self.queue.load_many(missing)):
                if isinstance(loaded, WriteRecord):
                    window.stored[write_id] = loaded
        for resource in list(lines):
            units, kept = lines[resource], []
            while units:
                unit = units.pop(0)
                if unit.newest.state is not WriteState.REPLAYING:  # resumed: settled already
                    units[:0] = self._apply(window, aftermath(unit, unit.newest, self.now()), unit.newest.id)
                elif unit.newest.coalesced_into is not None:
                    target = unit.newest.coalesced_into
                    after = resolve(unit, window.stored.get(target), self.now())
                    self._apply(window, after, target)
                    if after.waiting:
                        # Everything after it on this resource waits too: none of it may reach
                        # the origin before the write it is bound to has settled.
                        window.waiting += [*after.waiting, *(r for later in units for r in later.records
                                                             if r.state is WriteState.REPLAYING)]
                        units.clear()
                else:
                    kept.append(unit)
            if kept:
                lines[resource] = kept
            else:
                del lines[resource]
        return lines

    def _apply(self, window: _Window, after: Aftermath, newer_id: str,
               lines: dict[str, list[Unit]] | None = None) -> list[Unit]:
        """Record what ``coalesce.aftermath``/``resolve`` made of a unit's older writes: the
        superseded and dead-lettered ones are stored after ``newer_id``'s settlement; a unit
        to send again (the newest was refused) goes first in its resource's line (``lines``)
        or is returned. Waiting ones need nothing: they stay as stored."""
        window.after += [(record, newer_id) for record in (*after.superseded, *after.dead_lettered)]
        window.coalesced += [*after.superseded, *after.dead_lettered]
        if after.again is None:
            return []
        if lines is not None:
            lines.setdefault(after.again.resource, []).insert(0, after.again)
            return []
        return [after.again]

    def _requests(self, lines: dict[str, list[Unit]], most: int) -> list[tuple[Route | None, list[Unit]]]:
        """This round's origin requests: the next unit of each resource, resources in line
        order, as long as they fit in ``most`` requests. A ``bulk_url`` route's units
        share requests (``bulk.chunks``: its ``bulk_max`` and the request size), the others
        go one per request. Each resource is in one request at most, so its order holds."""
        chosen: list[Unit] = []
        requests: list[tuple[Route | None, list[Unit]]] = []
        for units in lines.values():
            candidate = self._grouped([*chosen, units[0]])
            if len(candidate) > most:
                break
            chosen.append(units[0])
            requests = candidate
        return requests

    def _grouped(self, units: list[Unit]) -> list[tuple[Route | None, list[Unit]]]:
        requests: list[tuple[Route | None, list[Unit]]] = []
        by_route: dict[Route, list[Unit]] = {}
        for unit in units:
            route = self._route_of(unit.newest)
            if route is not None and route.bulk_url:
                by_route.setdefault(route, []).append(unit)
            else:
                requests.append((None, [unit]))
        for route, members in by_route.items():
            of = {unit.newest.id: unit for unit in members}
            requests += [(route, [of[r.id] for r in chunk])
                         for chunk in bulk.chunks([unit.newest for unit in members], route.bulk_max)]
        return requests

    def _bindings(self, lines: dict[str, list[Unit]], window: _Window) -> list[WriteRecord]:
        """What must be stored before the units in ``lines`` may be sent: each older write
        bound to its unit's newest (``writes.bind``), a newest no longer bound to a write
        refused before it (``coalesce.aftermath``'s ``again``), each only if not stored so.
        All lines at once: bindings then only arise again after a refusal, whose resource
        waits for the next save anyway (so they never cost a SetBatch of their own)."""
        changes = []
        for units in lines.values():
            for unit in units:
                for older in unit.older:
                    if window.stored[older.id].coalesced_into != unit.newest.id:
                        changes.append(bind(older, unit.newest))
                if window.stored[unit.newest.id].coalesced_into is not None:
                    changes.append(replace(unit.newest, coalesced_into=None).to(WriteState.QUEUED))
        return changes

    async def _save_pending(self, window: _Window, final: bool = False) -> None:
        """Store ``window.unsaved`` and the coalesced records whose newer write's settlement is
        stored already (SetBatch, see ``WriteQueue.save_many``). Never both in one call, so
        a crash never leaves an older write SYNCED ``superseded_by`` (or FAILED with) a newer
        one whose settlement is lost, which a resend might then settle otherwise. ``final``
        (the window's last save): then the coalesced records still waiting, in one more."""
        for _ in range(2 if final else 1):
            settled = {write_id for write_id, record in window.stored.items()
                       if record.state in (WriteState.SYNCED, WriteState.FAILED)}
            ready = [record for record, newer in window.after if newer in settled or newer not in window.stored]
            window.after = [(record, newer) for record, newer in window.after
                            if not (newer in settled or newer not in window.stored)]
            records = window.unsaved + ready
            window.unsaved = []
            if records:
                await self.queue.save_many(records)
            window.stored.update((record.id, record) for record in records)
            if not window.after:
                break

    async def _before_round(self, window: _Window) -> bool:
        """Whether a round of origin calls may start: within the wall time, and with a lease
        that outlasts it (renewed once per window, the renewal ``window_cost`` budgets)."""
        if self.now() >= self.stop_at:
            return False
        if self._needs_renewal():
            if window.renewed:
                # A second renewal is paid from what the window's plan does not need.
                outstanding = window.planned - (self.budget.used - window.started_used)
                if self._allowance() - outstanding < 1:
                    return False
                window.planned += 1
            window.renewed = True
            await self._keep_lease()
        return True

    def _route_of(self, record: WriteRecord) -> Route | None:
        return match_route(self.routes, urlsplit(record.path).path or "/")

    def _coalesces(self, record: WriteRecord) -> bool:
        route = self._route_of(record)
        return route is not None and route.coalesce

    async def _post(self, route: Route | None, units: list[Unit], window: _Window) -> list[Settlement]:
        """One origin request for ``units``' newest writes (REPLAYING): a bulk POST to the
        route's ``bulk_url``, or the write alone; one settlement per unit, in order.

        A write ``based_on`` another (``conflicts: "etag"``) goes as ``writes.precondition``
        says from that write's record in ``window.stored`` (the window's own, as settled and
        stored before this round, or loaded by ``_plan``): with the base's ETag as If-Match
        (the settled record keeps it), unchecked, or not at all: a conflict, dead-lettered like
        a refusal (``writes.conflict_with``), or held back QUEUED without an attempt, which
        holds back its resource as a retry does. Either way no request for it: no subrequest."""
        settled: dict[int, Settlement] = {}
        sent: list[tuple[int, WriteRecord]] = []
        for index, record in enumerate(unit.newest for unit in units):
            if record.based_on is None:
                sent.append((index, record))
                continue
            decided = precondition(record, window.stored.get(record.based_on))
            self.log("replay.precondition", region=self.region, write_id=record.id, based_on=record.based_on,
                     action=decided.action, checked=decided.checked, reason=decided.reason)
            if decided.action == CONFLICT:
                settled[index] = Settlement(conflict_with(record, decided, self.now()), permanent=True)
            elif decided.action == WAIT:
                settled[index] = Settlement(record.to(WriteState.QUEUED), held=True)
            else:
                sent.append((index, with_if_match(record, decided.if_match) if decided.if_match else record))
        records = [record for _, record in sent]
        if records and route is None:
            settled[sent[0][0]] = self._settle(records[0], *await self._send(records[0]))
        elif records:
            outcomes = await self._send_bulk(records, route)
            settled.update((index, self._settle(record, *outcome)) for (index, record), outcome in zip(sent, outcomes))
        return [settled[index] for index in range(len(units))]

    def _settle(self, replaying: WriteRecord, response: Response | None, error: str) -> Settlement:
        return settle(replaying, response, error, now=self.now(), max_attempts=self.config.max_attempts,
                      backoff_base=self.config.backoff_base_seconds, backoff_cap=self.config.backoff_cap_seconds,
                      random=self.random)

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

    async def _send_bulk(self, records: list[WriteRecord], route: Route) -> list[bulk.Outcome]:
        """One POST for ``records`` (``sync.bulk``): an outcome per write, in order."""
        url = route.bulk_url or ""
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

    def _report(self, window: _Window) -> None:
        """Counts and one log line per settled write, once its bookkeeping is done."""
        for settlement in window.settled:
            record = settlement.record
            if record.state is WriteState.SYNCED:
                self.counts["synced"] += 1
                self.log("replay.synced", region=self.region, write_id=record.id, status=record.origin_status,
                         attempt=record.attempts)
            elif record.state is WriteState.FAILED:
                self.counts["dead_lettered"] += 1
                # The reason may quote the origin's body; the log gets the status only.
                self.log("replay.dead_lettered", level="error", region=self.region, write_id=record.id,
                         attempt=record.attempts, status=record.origin_status,
                         reason="conflict" if record.conflict else "permanent" if settlement.permanent
                         else "attempts used up")
            elif settlement.held:
                self.counts["blocked"] += 1
                self._keep(record)
                self.log("replay.blocked", region=self.region, write_id=record.id, attempt=record.attempts,
                         reason=f"based on write {record.based_on}, which is still queued")
            else:
                self.counts["retried"] += 1
                self._keep(record)
                self.log("replay.retry", region=self.region, write_id=record.id, attempt=record.attempts,
                         status=record.origin_status, reason=record.last_error,
                         retry_in_seconds=round(settlement.retry_in or 0.0, 3))
        for record in window.coalesced:
            if record.state is WriteState.SYNCED:
                self.counts["synced"] += 1
                self.log("replay.superseded", region=self.region, write_id=record.id, superseded_by=record.superseded_by)
            else:
                self.counts["dead_lettered"] += 1
                self.log("replay.dead_lettered", level="error", region=self.region, write_id=record.id,
                         attempt=record.attempts, status=None, reason="coalesced into a write that did not sync")
        # A resumed SYNCED write was counted by the run that synced it; a resumed FAILED one
        # reaches the DLQ only now.
        self.counts["dead_lettered"] += sum(1 for r in window.resumed if r.state is WriteState.FAILED)
        self.counts["dead_lettered"] += len(window.unreadable)

    async def _keep_dead_letters_alive(self) -> None:
        """Give the dead letters near expiry a fresh TTL (``dead_letters.keep_alive``, whose
        docstring has the cost: 1 + k + 2 calls at most, k <= KEEPALIVE_BATCH and what the
        budget allows beyond RUN_RESERVE; nothing due costs the fetch alone).

        Time: it may start as long as the replay's last origin call could still be running
        (``stop_at`` + the origin timeout); it is Momento calls only, which the lease margin
        covers as it covers a window's bookkeeping. Its failures are logged and leave the
        replay's status alone: the next sweep tries again, with hours to spare.
        """
        afford = (self.budget.remaining - RUN_RESERVE - _wake_reserve(len(self.regions.names))
                  - (KEEPALIVE_RESERVE - 1))  # all but the UpdateTtls, and the drain's wake reserve
        if afford < 1 or self.now() >= self.stop_at + self.origin_timeout:
            return
        done = await keep_alive(self.queue, region=self.region, now=self.now(), limit=min(KEEPALIVE_BATCH, afford),
                                log=self.log)
        self.counts["lost"] += done.lost
        self.counts["kept_alive"] += done.kept

    async def _refresh_entries(self, synced: list[WriteRecord], failed: list[WriteRecord]) -> None:
        """Make readers see the origin's truth again. Best effort: a failure is logged and the
        writes stay settled (the entries expire on their own TTL at worst).

        Own region: each dirty entry goes back to the route's TTL (synced) or away (failed) —
        unless it now holds a *later* write's representation, which is the right one to show
        until that write settles. One GetBatch for the window's keys, then one SetIf per entry
        to change. Other regions, after a sync only: their copy is older than the origin now
        (a refused write changed nothing there); ``_invalidate_other_regions``.
        """
        latest: dict[str, WriteRecord] = {}
        for record in sorted(synced + failed, key=lambda r: r.id):  # ids sort by time
            latest[record.entry_key] = record
        # Taken before either job starts: the own region's calls run at the same time as the
        # other regions' reads, and may be spent already when the spare is computed.
        allowance = self._allowance()
        jobs = [self._best_effort(f"entries in {self.region}", self._refresh_own(list(latest.values())))]
        if synced:
            jobs.append(self._invalidate_other_regions(synced, allowance - (1 + len(latest))))
        await asyncio.gather(*jobs)

    async def _refresh_own(self, records: list[WriteRecord]) -> None:
        if not records:
            return
        own = self.regions.client(self.region)
        raws = await own.get_batch([record.entry_key for record in records])
        await asyncio.gather(*(
            self._best_effort(f"entry in {self.region}", self._clean(own, record, raw), write_id=record.id)
            for record, raw in zip(records, raws) if raw is not None
        ))

    async def _clean(self, own, record: WriteRecord, raw: bytes) -> None:
        try:
            entry = CachedEntry.decode(raw)
        except EntryFormatError:
            entry = None
        if entry is not None and entry.dirty_write is not None and entry.dirty_write > record.id:
            return  # a later write's representation (ids sort by time, writes.new_write_id)
        if raw == INVALIDATED:
            return  # already a miss for readers
        # Compare-and-set against the bytes just read: should the edge write a newer dirty
        # entry in between, it is left alone (a plain Set/Delete would lose that user's
        # read-your-write, or shorten its life below its queued write's).
        if record.state is WriteState.SYNCED and entry is not None and record.superseded_by is None:
            # No longer dirty: the route's TTL again, and Cache-Status stops saying so.
            clean = replace(entry, dirty_write=None, ttl=record.entry_ttl, stored_at=self.now())
            if record.method == "PUT" and record.origin_etag:
                # The origin's validator for it: an origin sends one on a PUT's answer only when
                # it stored the body as sent (RFC 9110 §9.3.4), which is the body cached here. So
                # the next write on a ``conflicts`` route is checked against it (``edge.lost_updates``).
                clean = replace(clean, headers=clean.headers.set("etag", record.origin_etag))
            await own.set_if_equal(record.entry_key, clean.encode(), raw, record.entry_ttl)
        else:
            # Refused, superseded (the origin has a newer write, perhaps from another region)
            # or unreadable: readers must see the origin's truth. Momento has no conditional
            # delete; a 1 s TTL under the same condition is the same thing.
            await own.set_if_equal(record.entry_key, raw, raw, 1)

    async def _invalidate_other_regions(self, synced: list[WriteRecord], allowance: int) -> None:
        """After a sync, every other region's clean copy of the entry is older than the origin:
        per other region, concurrently, one GetBatch of the window's synced keys, then one
        SetIf equal per copy to replace with ``INVALIDATED`` (readers take it as a miss). A
        *dirty* copy is left alone: it holds a write of that region still queued, which its
        user must go on reading until that write syncs (its own region's sync then cleans or
        invalidates it). The compare-and-set leaves alone a dirty copy written in between too.

        The GetBatches are planned (``window_cost``); the SetIfs are paid from what is left
        beyond what the window still needs and the run's reserves: ``allowance`` is what the
        run could spend when the entries step began, less the own entries' calls (running at
        the same time); the GetBatches here, the markers and the removal come off it too. Most
        synced keys have no copy elsewhere and planning one per key and region would shrink
        every window. Copies beyond that are logged (``replay.invalidation_skipped``) and live
        for their TTL, as after a failed call. Best effort throughout. (The one place that
        decides how other regions learn of a synced write.)"""
        keys = sorted({record.entry_key for record in synced})
        ids = ",".join(record.id for record in synced)
        others = self._other_regions()
        reads = await asyncio.gather(*(self._best_effort(f"entries in {other}", self.regions.client(other).get_batch(keys),
                                                         write_ids=ids) for other in others))
        stale = [(other, key, raw) for other, raws in zip(others, reads) if raws is not None
                 for key, raw in zip(keys, raws) if raw is not None and _replaceable(raw)]
        spare = max(0, allowance - len(others) - 2)  # the reads, the markers' SetBatch, the SortedSetRemove
        if len(stale) > spare:
            skipped = stale[spare:]
            stale = stale[:spare]
            self.log("replay.invalidation_skipped", level="warning", region=self.region, copies=len(skipped),
                     regions=sorted({other for other, _, _ in skipped}), write_ids=ids,
                     reason="the run's budget has no subrequest left for them; they live for their TTL")
        await asyncio.gather(*(
            self._best_effort(f"entries in {other}", self.regions.client(other).set_if_equal(key, INVALIDATED, raw,
                                                                                            INVALIDATED_TTL), write_ids=ids)
            for other, key, raw in stale))

    def _hold(self, record: WriteRecord, reason: str, **fields) -> None:
        """``record`` stays queued, and so does every later write to its resource in this run."""
        self.blocked_resources.add(record.resource)
        self.counts["blocked"] += 1
        self._keep(record)
        self.log("replay.blocked", region=self.region, write_id=record.id, attempt=record.attempts, reason=reason,
                 **fields)

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
