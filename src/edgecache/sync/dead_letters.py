"""The dead-letter queue: keeping dead letters alive past Momento's TTL, and the operator's
views and operations on them (list, retry, discard).

A dead letter is never attempted again, yet Momento drops every item within its TTL (24 h
by default): so each cron run, after its replay work, keeps alive the dead letters that
entered the last sixth of their TTL (:func:`keep_alive_after`) — UpdateTtl on the record,
then the id re-scored to now, which also renews the DLQ's TTL. One dead letter costs about
one call a day; a record found gone is reported as ``dlq.LOST`` and its id dropped.

Momento calls:

    keep_alive   1 SortedSetFetch, then per due dead letter 1 UpdateTtl (concurrent), one
                 SortedSetPut for all kept, one SortedSetRemove for all gone: 1 + k + 2 at
                 most. Record before score: stopped in between, a dead letter keeps its old
                 score and is simply kept alive again by the next run.
    listing      per region 1 SortedSetFetch + 1 Get per listed write (``list_limit``)
    find         1 Get per region asked (write ids are unique: at most one region has it)
    retry        find + the lease (SetIf absent) + ``WriteQueue.requeue`` + the lease's Delete
    discard      find + ``WriteQueue.discard_dead_letter``

Errors: none of its own. An operation that cannot go on raises ``responses.Answer`` with
the answer (404 not a write here, 409 not dead-lettered / unreadable / region busy);
Momento errors propagate to the caller (``SyncApp.handle`` answers 503).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..admin import at_risk_after
from ..http import FetchError, Headers, Response
from ..logs import Log
from ..momento.errors import MomentoError
from ..queue import WriteQueue
from ..regional import RegionalClients
from ..responses import Answer, error_response
from ..writes import RecordFormatError, WriteRecord, WriteState
from .budget import BudgetExhausted

__all__ = [
    "KEEPALIVE_BATCH",
    "KEEPALIVE_RESERVE",
    "KeptAlive",
    "keep_alive_after",
    "keep_alive",
    "LIST_LIMIT",
    "list_limit",
    "listing",
    "find",
    "retry",
    "discard",
]

KEEPALIVE_BATCH = 10
"""Dead letters kept alive per run at most: 10 a minute per region is 2,400 in the 4 h window
(see ``keep_alive_after``), for 12 subrequests of a run's budget at worst."""

KEEPALIVE_RESERVE = 4
"""Subrequests the replay leaves for the keep-alive on cron runs, beyond ``RUN_RESERVE``: the
SortedSetFetch of due dead letters, one UpdateTtl, the SortedSetPut that re-scores, the
SortedSetRemove of records found gone. Every run keeps at least one dead letter alive."""

LIST_LIMIT = 20
"""Dead letters listed per region at most: each is one Get, and an invocation has 50
subrequests on the Free plan (fewer when the budget and the region count say so)."""


def keep_alive_after(queue_ttl_seconds: int) -> float:
    """Age (by DLQ score) at which a dead letter is kept alive: in the last sixth of its TTL,
    20 h of Momento's 24 h. So each is touched about once a day, and a sweep may miss it for
    4 h (Momento down, the budget spent elsewhere) before anything is lost. The same age as
    a queued write's at-risk warning (``admin.at_risk_after``): one TTL policy."""
    return at_risk_after(queue_ttl_seconds)


@dataclass(frozen=True)
class KeptAlive:
    kept: int = 0
    """Dead letters given a fresh TTL and re-scored."""
    lost: int = 0
    """Dead letters whose record was found gone (``dlq.LOST``)."""


async def keep_alive(queue: WriteQueue, *, region: str, now: float, limit: int, log: Log) -> KeptAlive:
    """Give up to ``limit`` dead letters near expiry a fresh TTL (cost: module docstring).

    Its Momento failures are logged and end the keep-alive only: the next sweep tries again,
    with hours to spare. What was done before the failure is still counted.
    """
    kept_count = lost_count = 0
    try:
        due = await queue.dead_letters_due(now - keep_alive_after(queue.ttl_seconds), limit)
        if not due:
            return KeptAlive()
        results = await asyncio.gather(*(queue.keep_record_alive(write_id) for write_id, _ in due),
                                       return_exceptions=True)
        kept, gone, failed = [], [], None
        for (write_id, score), result in zip(due, results):
            if result is True:
                kept.append(write_id)
            elif result is False:
                gone.append(write_id)
                # The write the product promised "sits in the dead-letter queue" is gone.
                log("dlq.LOST", level="error", region=region, write_id=write_id, ttl_renewed_at=score / 1000,
                    reason="dead letter's record expired or was removed; nothing can bring it back")
            elif isinstance(result, (MomentoError, FetchError, BudgetExhausted)):
                failed = result  # not re-scored: the next run tries it again
            else:
                raise result
        lost_count = len(gone)
        await queue.rescore_dead_letters(kept, now)
        kept_count = len(kept)
        await queue.drop_dead_letters(gone)
        if failed is not None:
            raise failed
    except (MomentoError, FetchError, BudgetExhausted) as exc:
        log("dlq.keepalive_failed", level="warning", region=region, reason=str(exc))
        return KeptAlive(kept_count, lost_count)
    log("dlq.kept_alive", region=region, write_ids=kept, lost=gone)
    return KeptAlive(kept_count, lost_count)


# -- the operator's views and operations -----------------------------------------------------


def list_limit(subrequest_budget: int, region_count: int) -> int:
    """Dead letters listed per region: one SortedSetFetch per region, then one Get per listed
    write, all within the invocation's subrequests."""
    return max(0, min(LIST_LIMIT, (subrequest_budget - region_count) // region_count))


async def listing(regions: RegionalClients, names: list[str], limit: int) -> dict:
    """``GET /_edge/dlq``'s body: each region's dead letters, oldest first, ``limit`` each."""

    async def region_view(name: str) -> dict:
        queue = regions.queue(name)
        ids = await queue.dead_letters(limit + 1)
        shown = ids[:limit]
        records = await asyncio.gather(*(load(queue, write_id) for write_id, _ in shown))
        items = []
        # The DLQ score is when the record last got a fresh TTL (the cron's keep-alive
        # re-scores it about daily), so when the write failed comes from its record.
        # Without a readable record the score is all there is, shown for what it is.
        for (write_id, score), record in zip(shown, records):
            if record is None:
                items.append({"write_id": write_id, "status": "lost", "ttl_renewed_at": score / 1000,
                              "reason": "record expired in Momento"})
            elif isinstance(record, RecordFormatError):
                items.append({"write_id": write_id, "status": "unreadable", "ttl_renewed_at": score / 1000,
                              "reason": str(record)})
            else:
                failed_at = record.finished_at if record.finished_at is not None else score / 1000
                items.append({**record.public_view(), "dead_lettered_at": failed_at,
                              "reason": record.last_error})
        return {"region": name, "items": items, "truncated": len(ids) > limit}

    views = await asyncio.gather(*(region_view(name) for name in names))
    return {"regions": list(views)}


async def find(
    regions: RegionalClients, names: list[str], write_id: str
) -> tuple[str, WriteRecord | RecordFormatError | None]:
    """(region, record) of a dead-lettered write; raises ``Answer`` (409) when it is not one.

    The record is None when no region of ``names`` has it, and the RecordFormatError when it
    cannot be read (the replayer set it aside; it can only be discarded). Every region's
    record is read (one Get each): write ids are unique, so at most one region has it.
    """
    records = await asyncio.gather(*(load(regions.queue(name), write_id) for name in names))
    hits = [(name, record) for name, record in zip(names, records) if record is not None]
    if not hits:
        return (names[0], None)
    region, record = hits[0]
    if isinstance(record, WriteRecord) and record.state is not WriteState.FAILED:
        raise Answer(error_response(409, f"write is {record.public_view()['status']}, not dead-lettered",
                                    write_id=write_id, region=region))
    return region, record


async def retry(
    regions: RegionalClients, names: list[str], write_id: str, *, now: float, lease_seconds: int, log: Log
) -> tuple[str, WriteRecord]:
    """Put a dead letter back at the end of its region's queue; (region, queued record).
    Raises ``Answer``: 404 no such write, 409 unreadable or its region busy."""
    region, record = await find(regions, names, write_id)
    if record is None:
        raise Answer(error_response(404, "no such write", write_id=write_id))
    if isinstance(record, RecordFormatError):
        raise Answer(error_response(409, "the write's record is unreadable and cannot be replayed; discard it",
                                    write_id=write_id, region=region))
    # Back to the end of the queue with a clean slate. Requeuing after later writes to the
    # same resource have synced replays this one after them: that is the operator's call.
    # The origin sees the same Idempotency-Key (the write id) as before. That keeps a retry
    # safe when an earlier attempt may have been applied (attempts used up on timeouts):
    # the origin answers with its stored reply, not a second write. It also means an
    # origin that stored its refusal of the write answers that refusal again.
    # A conflict is retried like any dead letter (its If-Match or ``based_on`` stays: the
    # check is part of the write), so it is most likely a conflict again; the user's way out
    # is to read the resource and write again.
    queued = record.to(WriteState.QUEUED, attempts=0, next_attempt_at=0.0, last_error=None,
                       finished_at=None, origin_status=None, conflict=False)
    queue = regions.queue(region)
    # The region's lease keeps replays out while the write moves between the sets
    # (see WriteQueue.requeue); a run in progress means "try again shortly".
    if not await queue.acquire_lease(f"dlq-retry-{write_id}", lease_seconds):
        raise Answer(error_response(409, "a sync run is replaying this region; try again shortly",
                                    write_id=write_id, region=region))
    try:
        await queue.requeue(queued, now)
    finally:
        await queue.release_lease()
    log("dlq.requeued", region=region, write_id=write_id)
    return region, queued


async def discard(regions: RegionalClients, names: list[str], write_id: str, *, region_given: bool,
                  log: Log) -> Response:
    """``DELETE /_edge/dlq/{id}``: 204 once gone; 404 when no region has it, unless the region
    was named (``region_given``): then a DLQ entry whose record has expired can still be cleared."""
    region, record = await find(regions, names, write_id)
    if record is None and not region_given:
        return error_response(404, "no such write", write_id=write_id)
    await regions.queue(region).discard_dead_letter(write_id)
    log("dlq.discarded", region=region, write_id=write_id)
    return Response(204, Headers({"cache-control": "no-store"}))


async def load(queue: WriteQueue, write_id: str) -> WriteRecord | RecordFormatError | None:
    """The record, or the reason it cannot be read: an admin view shows it rather than fail."""
    try:
        return await queue.load(write_id)
    except RecordFormatError as exc:
        return exc
