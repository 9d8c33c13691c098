"""The write queue of one region, kept in that region's Momento cache.

    queue      sorted set: write id → score (enqueue time in ms); oldest first
    dlq        sorted set: write id → score (time it was dead-lettered, or last kept alive)
    write:<id> the record (``writes.WriteRecord``)
    lease:sync who is replaying (or requeueing into) this region now (SetIf absent + TTL)
    lease:sync:more  a trigger found the lease held: the holder runs again after releasing
    applied:<hash>   the newest write of a resource the origin has (``sync.ordering``)
    wake:<region>    that region's sync waits for a write queued here (``leave_wake``)

Batches (the replayer's window, see ``replay``): ``load_many`` reads a window's records in
one GetBatch and ``save_many`` writes them back in one SetBatch (more only for records near
the 5 MB item limit, ``record_batches``); ``add_dead_letters`` and ``remove`` each move a
window's ids in one sorted-set call.

Why a sorted set: it gives the replayer the oldest writes in one call (SortedSetFetch by
score, ascending, with a count) and removing a synced write is one call, without a
read-modify-write of a list. Scores are milliseconds since the epoch; two isolates may write
in the same millisecond, and Momento then orders equal scores by value, which for our
time-prefixed write ids (``writes.new_write_id``) is again time order.

TTL: every item in Momento expires (24 h at most on on-demand caches, momento.md §5). The
queue's TTL is refreshed whenever it is touched (``refresh_ttl`` on put, UpdateTtl on sweep)
and a record is rewritten with a fresh TTL at every attempt, so data only ages out when
nothing at all has touched the region for a whole TTL; ``replay`` reports writes that get
near that limit, loudly. A dead letter is never attempted again, so nothing would touch it:
the cron sweep keeps it alive instead (``replay``'s keep-alive). The DLQ score says when its
record last got a fresh TTL (``dead_letter``, ``set_aside`` and the keep-alive set both
together), so one SortedSetFetch by score (``dead_letters_due``) finds the ones near expiry;
each gets UpdateTtl on its record (``keep_record_alive``) and is re-scored to now
(``rescore_dead_letters``, which renews the DLQ's own TTL too). When a dead letter failed is
its record's ``finished_at``, not its score.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .keys import DLQ_KEY, MORE_WORK_KEY, QUEUE_KEY, SYNC_LEASE_KEY, applied_key, wake_key, write_key
from .momento.client import MomentoClient
from .writes import MOMENTO_ITEM_BYTES, RecordFormatError, WriteRecord

__all__ = ["WriteQueue", "QueueStats", "record_batches", "SET_BATCH_BYTES"]

SET_BATCH_BYTES = MOMENTO_ITEM_BYTES
"""The most record bytes one SetBatch carries. Momento documents no limit for a batch
request; we keep one no bigger than the largest item it accepts (momento.md §5: 5 MB), so a
batch is never refused for a size a single Set would pass."""


SHARED_BATCH_BYTES = 256 * 1024
"""The most bytes the edge sends as one SetBatch (entry + record). A gRPC-web call carries its
values inside a protobuf message, itself base64 text on the wire, so a large body is copied
and re-encoded several times where a REST Set sends it as it is: measured with ``make bench``
(part 3), a 1 MB write through one SetBatch peaked at 14 MB of Python allocation against about
5 MB as two Sets. Below this size the call saved is worth more than the copies."""


def record_batches(records: list[WriteRecord]) -> list[list[WriteRecord]]:
    """``records`` in SetBatch groups of at most SET_BATCH_BYTES each, in order (one group
    for ordinary records; a record near the item limit gets one of its own)."""
    groups: list[list[WriteRecord]] = []
    size = 0
    for record in records:
        length = len(record.encode()) + len(write_key(record.id))
        if not groups or size + length > SET_BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(record)
        size += length
    return groups


def _decoded(raw: bytes) -> WriteRecord | RecordFormatError:
    try:
        return WriteRecord.decode(raw)
    except RecordFormatError as exc:
        return exc


@dataclass(frozen=True)
class QueueStats:
    region: str
    depth: int
    oldest_age_seconds: float | None
    dead_letters: int

    def to_json(self) -> dict:
        return {
            "region": self.region,
            "depth": self.depth,
            "oldest_age_seconds": self.oldest_age_seconds,
            "dead_letters": self.dead_letters,
        }


class WriteQueue:
    """Queue operations for one region. Each method is one Momento call unless it says so."""

    def __init__(self, client: MomentoClient, region: str, ttl_seconds: int) -> None:
        self.client = client
        self.region = region
        self.ttl_seconds = ttl_seconds

    # -- the edge side -------------------------------------------------------------------

    async def save(self, record: WriteRecord) -> None:
        await self.client.set(write_key(record.id), record.encode(), self.ttl_seconds)

    async def save_with_entry(self, record: WriteRecord, entry_key: str, entry: bytes, entry_ttl: int) -> None:
        """The edge's write: its record and its dirty cache entry together. One SetBatch when
        both come to at most ``SHARED_BATCH_BYTES`` (one call fewer on the 202's path, the
        same round trip), else two REST Sets at once. Not atomic either way: an error means
        one of the two, or both, may be missing, and the edge then writes through to the
        origin instead (``edge.app``)."""
        encoded = record.encode()
        items = [(entry_key, entry, entry_ttl), (write_key(record.id), encoded, self.ttl_seconds)]
        if sum(len(key) + len(value) for key, value, _ in items) <= SHARED_BATCH_BYTES:
            await self.client.set_batch(items)
            return
        results = await asyncio.gather(*(self.client.set(key, value, ttl) for key, value, ttl in items),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def add(self, write_id: str, score_ms: float) -> None:
        await self.client.sorted_set_put(QUEUE_KEY, [(write_id, score_ms)], ttl_seconds=self.ttl_seconds, refresh_ttl=True)

    # -- the replay side -----------------------------------------------------------------

    async def oldest(self, count: int) -> list[tuple[str, float]]:
        """Up to ``count`` queued write ids with their scores, oldest first."""
        items = await self.client.sorted_set_fetch_by_score(QUEUE_KEY, offset=0, count=count)
        return [(value.decode(), score) for value, score in items]

    async def load(self, write_id: str) -> WriteRecord | None:
        raw = await self.client.get(write_key(write_id))
        return None if raw is None else WriteRecord.decode(raw)

    async def load_many(self, write_ids: list[str]) -> list[WriteRecord | None | RecordFormatError]:
        """The records of these ids, in order, in one GetBatch: each a record, None (no
        record) or the ``RecordFormatError`` its bytes raise (the caller sets it aside)."""
        raws = await self.client.get_batch([write_key(write_id) for write_id in write_ids])
        return [None if raw is None else _decoded(raw) for raw in raws]

    async def save_many(self, records: list[WriteRecord]) -> int:
        """Store these records with a fresh TTL: one SetBatch per ``record_batches`` group (so
        one for ordinary records). Not atomic: stopped half-way, some are saved and the others
        still hold what they held, which the replayer survives either way. Returns the calls made."""
        groups = record_batches(records)
        for group in groups:
            await self.client.set_batch([(write_key(r.id), r.encode(), self.ttl_seconds) for r in group])
        return len(groups)

    async def add_dead_letters(self, scored: list[tuple[str, float]]) -> None:
        """Put these (id, seconds) in the DLQ (one SortedSetPut, none for none). Their records
        must already say FAILED, or have just had a fresh TTL (``set_aside``)."""
        if scored:
            await self.client.sorted_set_put(DLQ_KEY, [(write_id, at * 1000) for write_id, at in scored],
                                             ttl_seconds=self.ttl_seconds, refresh_ttl=True)

    async def remove(self, write_ids: list[str]) -> None:
        if write_ids:
            await self.client.sorted_set_remove(QUEUE_KEY, write_ids)

    async def refresh_ttl(self) -> None:
        """Keep the queue alive while anyone works on it (UpdateTtl; no-op when empty)."""
        await self.client.update_ttl(QUEUE_KEY, self.ttl_seconds)

    async def dead_letter(self, record: WriteRecord, now: float) -> None:
        """Record first, then DLQ, then off the queue. Three calls.

        A crash in between leaves a FAILED record whose id is still queued (in the DLQ too,
        or not yet); the replayer finishes the move when it meets that record, so a write is
        never in neither set. Calling this again for the same record is harmless.
        """
        await self.save(record)
        await self.client.sorted_set_put(DLQ_KEY, [(record.id, now * 1000)], ttl_seconds=self.ttl_seconds, refresh_ttl=True)
        await self.remove([record.id])

    async def keep_unreadable_alive(self, write_id: str) -> None:
        """The first step of ``set_aside`` alone (UpdateTtl): the batched replay then puts
        the id in the DLQ and takes it off the queue with the window's other settled writes."""
        await self.client.update_ttl(write_key(write_id), self.ttl_seconds)

    async def set_aside(self, write_id: str, now: float) -> None:
        """Move a queued id whose record cannot be read to the DLQ (three calls), so that it
        stops holding up the queue and an operator sees it. The record gets a fresh TTL first:
        it was last saved at some earlier attempt, and its DLQ score (now) is what the
        keep-alive goes by. Then DLQ, then off the queue, as above."""
        await self.client.update_ttl(write_key(write_id), self.ttl_seconds)
        await self.client.sorted_set_put(DLQ_KEY, [(write_id, now * 1000)], ttl_seconds=self.ttl_seconds, refresh_ttl=True)
        await self.remove([write_id])

    async def dead_letters(self, count: int = 100) -> list[tuple[str, float]]:
        items = await self.client.sorted_set_fetch_by_score(DLQ_KEY, offset=0, count=count)
        return [(value.decode(), score) for value, score in items]

    async def dead_letters_due(self, scored_before: float, count: int) -> list[tuple[str, float]]:
        """Up to ``count`` dead letters whose score is ``scored_before`` (seconds) or older,
        oldest first: those whose record got its last fresh TTL then. One SortedSetFetch."""
        items = await self.client.sorted_set_fetch_by_score(DLQ_KEY, max_score=scored_before * 1000, count=count)
        return [(value.decode(), score) for value, score in items]

    async def keep_record_alive(self, write_id: str) -> bool:
        """A fresh TTL for the record without reading or rewriting it (UpdateTtl). False when
        the record is gone: expired, or discarded by an operator meanwhile."""
        return await self.client.update_ttl(write_key(write_id), self.ttl_seconds)

    async def rescore_dead_letters(self, write_ids: list[str], now: float) -> None:
        """Score these dead letters ``now`` (their records were just kept alive) and renew the
        DLQ's own TTL. One SortedSetPut; call only while holding the lease, or it could put
        back an id that an operator's retry just took out."""
        if write_ids:
            await self.client.sorted_set_put(DLQ_KEY, [(write_id, now * 1000) for write_id in write_ids],
                                             ttl_seconds=self.ttl_seconds, refresh_ttl=True)

    async def drop_dead_letters(self, write_ids: list[str]) -> None:
        """Take ids whose record is gone out of the DLQ. One SortedSetRemove."""
        if write_ids:
            await self.client.sorted_set_remove(DLQ_KEY, write_ids)

    async def requeue(self, record: WriteRecord, now: float) -> None:
        """Move a dead letter back to the queue (an operator's retry). Three calls; the
        caller holds the region's lease, so no replay runs in between.

        The id goes into the queue and out of the DLQ while the stored record still says
        FAILED; only then does the record say QUEUED. Stopped anywhere before the last step,
        the queue holds a FAILED record, which the next replay moves back to the DLQ: the
        operator sees it there and can retry again. (Saving QUEUED first would leave, after
        a failed second step, a QUEUED record that only the DLQ knows: never replayed, and
        refused by retry and discard alike.)
        """
        await self.add(record.id, now * 1000)
        await self.client.sorted_set_remove(DLQ_KEY, [record.id])
        await self.save(record)

    async def discard_dead_letter(self, write_id: str) -> None:
        """Forget a dead letter (an operator's decision). Three calls. Off the queue too: an
        interrupted ``dead_letter`` may have left the id there, and the replayer would then
        report a write with no record as LOST. The record goes last, so a stop half-way
        leaves an ordinary dead letter (or an orphan record that expires)."""
        await self.remove([write_id])
        await self.client.sorted_set_remove(DLQ_KEY, [write_id])
        await self.client.delete(write_key(write_id))

    # -- the lease -----------------------------------------------------------------------

    async def acquire_lease(self, holder: str, seconds: int) -> bool:
        """True when this caller now holds the region's sync lease for ``seconds``.

        SetIf-absent is atomic in Momento, so of two overlapping triggers exactly one wins.
        A crashed holder's lease simply expires.
        """
        return await self.client.set_if_absent(SYNC_LEASE_KEY, holder.encode(), ttl_seconds=seconds)

    async def renew_lease(self, holder: str, seconds: int) -> bool:
        """A fresh ``seconds`` for this caller's lease (SetIf equal: atomic compare-and-set).
        False when the lease is no longer this caller's: it expired and someone took it."""
        return await self.client.set_if_equal(SYNC_LEASE_KEY, holder.encode(), holder.encode(), seconds)

    async def release_lease(self) -> None:
        """Delete the lease. Only call while still inside the lease's lifetime: the replayer
        stops well before it (wall budget < lease TTL), so this never frees someone else's."""
        await self.client.delete(SYNC_LEASE_KEY)

    async def mark_more_work(self, seconds: int) -> None:
        """Leave word for the lease holder that a trigger came while it ran (one Set). It
        lives as long as a lease can, so it outlasts whichever run is holding one now."""
        await self.client.set(MORE_WORK_KEY, b"1", seconds)

    async def take_more_work(self) -> bool:
        """True (and the mark gone) when a trigger left word since the mark was last taken.
        One Get, plus a Delete when there was a mark. A mark set between the two is lost,
        which is fine: the caller runs again after this, and that run reads the queue after
        the mark's trigger had queued its write."""
        if await self.client.get(MORE_WORK_KEY) is None:
            return False
        await self.client.delete(MORE_WORK_KEY)
        return True

    # -- across regions (``sync.ordering``) -----------------------------------------------

    async def queued_up_to(self, max_score_ms: float, count: int) -> list[str]:
        """Queued ids scored ``max_score_ms`` or less, oldest first, at most ``count``. One
        SortedSetFetch: how another region's sync sees which older writes wait here."""
        items = await self.client.sorted_set_fetch_by_score(QUEUE_KEY, max_score=max_score_ms, count=count)
        return [value.decode() for value, _ in items]

    async def applied(self, resources: list[str]) -> dict[str, str | None]:
        """Each resource's ``applied:`` marker here: the id of the newest write of it the
        origin has from edgecache (None: none known). One GetBatch."""
        raws = await self.client.get_batch([applied_key(resource) for resource in resources])
        return {resource: None if raw is None else raw.decode(errors="replace")
                for resource, raw in zip(resources, raws)}

    async def record_applied(self, newest: dict[str, str]) -> None:
        """Store resource → newest synced write id as ``applied:`` markers here (one SetBatch).
        They live as long as a queued write can: an older write than that no longer exists."""
        if newest:
            await self.client.set_batch([(applied_key(resource), write_id.encode(), self.ttl_seconds)
                                         for resource, write_id in sorted(newest.items())])

    async def leave_wake(self, waiting_region: str, seconds: int) -> None:
        """Ask this region's sync to wake ``waiting_region``'s after its next run (one Set):
        a write there waits for an older one queued here."""
        await self.client.set(wake_key(waiting_region), b"1", seconds)

    async def wakes_left(self, regions: list[str]) -> list[str]:
        """Of ``regions``, those whose sync left a wake mark here. One GetBatch."""
        raws = await self.client.get_batch([wake_key(region) for region in regions])
        return [region for region, raw in zip(regions, raws) if raw is not None]

    async def clear_wake(self, region: str) -> None:
        """Take ``region``'s wake mark away, before waking it (one Delete). A mark left after
        ``wakes_left`` read stays for the next run; its writer reads this queue again after
        leaving it (``replay``), so it never waits for a write that is already gone."""
        await self.client.delete(wake_key(region))

    # -- observation ---------------------------------------------------------------------

    async def stats(self, now: float) -> QueueStats:
        """Depth, age of the oldest write and DLQ size. Three concurrent calls."""
        depth, oldest, dead = await asyncio.gather(
            self.client.sorted_set_length(QUEUE_KEY),
            self.client.sorted_set_fetch_by_score(QUEUE_KEY, offset=0, count=1),
            self.client.sorted_set_length(DLQ_KEY),
        )
        age = round(max(0.0, now - oldest[0][1] / 1000), 3) if oldest else None
        return QueueStats(self.region, depth, age, dead)
